/* vixdisklib-abi: the public headers against the fact sheet.
 *
 * Every expected number below was taken from /work/shared/docs/vix-api.md
 * (sections 1.1-1.8 and 2.1-2.4), not from our headers: sizes and member
 * offsets of every public struct on Linux x86-64, the value of every enum
 * member, flag, limit and error code, and the exact prototype of each of
 * the 43 VixDiskLib_ and 15 VixMntapi_ functions.  The error table and the
 * prototypes were extracted from the document's tables and code blocks
 * mechanically; the rest was typed from its tables.
 *
 * Prints one "PASS what" / "FAIL what: got X, expected Y" line per check;
 * exit status 0 if all passed.  Compiled against the public headers only (disklib/include, mntapi/include).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "vixMntapi.h"   /* includes vixDiskLib.h and vm_basic_types.h */

static int failures;

static void
check (const char *what, unsigned long long got, unsigned long long want)
{
  if (got == want)
    printf ("PASS %s = %llu\n", what, want);
  else {
    printf ("FAIL %s: got %llu, expected %llu\n", what, got, want);
    failures++;
  }
}

#define SIZE(type, n)        check ("sizeof (" #type ")", sizeof (type), (n))
#define OFF(type, m, n)      check ("offsetof (" #type ", " #m ")", \
                                    offsetof (type, m), (n))
#define MSIZE(type, m, n)    check ("sizeof (" #type "." #m ")", \
                                    sizeof (((type *) 0)->m), (n))
#define VAL(name, n)         check (#name, (unsigned long long) (name), (n))

/* ---- error codes (vix-api.md 1.3, every code listed) -------------------- */
#define E(name, n) { #name, (unsigned long long) (name), (n) }
static const struct { const char *name; unsigned long long got, want; }
errors[] = {
  E (VIX_OK, 0),
  E (VIX_E_FAIL, 1),
  E (VIX_E_OUT_OF_MEMORY, 2),
  E (VIX_E_INVALID_ARG, 3),
  E (VIX_E_FILE_NOT_FOUND, 4),
  E (VIX_E_OBJECT_IS_BUSY, 5),
  E (VIX_E_NOT_SUPPORTED, 6),
  E (VIX_E_FILE_ERROR, 7),
  E (VIX_E_DISK_FULL, 8),
  E (VIX_E_INCORRECT_FILE_TYPE, 9),
  E (VIX_E_CANCELLED, 10),
  E (VIX_E_FILE_READ_ONLY, 11),
  E (VIX_E_FILE_ALREADY_EXISTS, 12),
  E (VIX_E_FILE_ACCESS_ERROR, 13),
  E (VIX_E_REQUIRES_LARGE_FILES, 14),
  E (VIX_E_FILE_ALREADY_LOCKED, 15),
  E (VIX_E_VMDB, 16),
  E (VIX_E_NOT_SUPPORTED_ON_REMOTE_OBJECT, 20),
  E (VIX_E_FILE_TOO_BIG, 21),
  E (VIX_E_FILE_NAME_INVALID, 22),
  E (VIX_E_ALREADY_EXISTS, 23),
  E (VIX_E_BUFFER_TOOSMALL, 24),
  E (VIX_E_OBJECT_NOT_FOUND, 25),
  E (VIX_E_HOST_NOT_CONNECTED, 26),
  E (VIX_E_INVALID_UTF8_STRING, 27),
  E (VIX_E_UNFINISHED_JOB, 29),
  E (VIX_E_NEED_KEY, 30),
  E (VIX_E_OPERATION_ALREADY_IN_PROGRESS, 31),
  E (VIX_E_LICENSE, 32),
  E (VIX_E_VM_HOST_DISCONNECTED, 34),
  E (VIX_E_AUTHENTICATION_FAIL, 35),
  E (VIX_E_HOST_CONNECTION_LOST, 36),
  E (VIX_E_DUPLICATE_NAME, 41),
  E (VIX_E_ARGUMENT_TOO_BIG, 44),
  E (VIX_E_INVALID_HANDLE, 1000),
  E (VIX_E_NOT_SUPPORTED_ON_HANDLE_TYPE, 1001),
  E (VIX_E_TOO_MANY_HANDLES, 1002),
  E (VIX_E_NOT_FOUND, 2000),
  E (VIX_E_TYPE_MISMATCH, 2001),
  E (VIX_E_INVALID_XML, 2002),
  E (VIX_E_TIMEOUT_WAITING_FOR_TOOLS, 3000),
  E (VIX_E_UNRECOGNIZED_COMMAND, 3001),
  E (VIX_E_OP_NOT_SUPPORTED_ON_GUEST, 3003),
  E (VIX_E_PROGRAM_NOT_STARTED, 3004),
  E (VIX_E_CANNOT_START_READ_ONLY_VM, 3005),
  E (VIX_E_VM_NOT_RUNNING, 3006),
  E (VIX_E_VM_IS_RUNNING, 3007),
  E (VIX_E_CANNOT_CONNECT_TO_VM, 3008),
  E (VIX_E_POWEROP_SCRIPTS_NOT_AVAILABLE, 3009),
  E (VIX_E_NO_GUEST_OS_INSTALLED, 3010),
  E (VIX_E_VM_INSUFFICIENT_HOST_MEMORY, 3011),
  E (VIX_E_SUSPEND_ERROR, 3012),
  E (VIX_E_VM_NOT_ENOUGH_CPUS, 3013),
  E (VIX_E_HOST_USER_PERMISSIONS, 3014),
  E (VIX_E_GUEST_USER_PERMISSIONS, 3015),
  E (VIX_E_TOOLS_NOT_RUNNING, 3016),
  E (VIX_E_GUEST_OPERATIONS_PROHIBITED, 3017),
  E (VIX_E_ANON_GUEST_OPERATIONS_PROHIBITED, 3018),
  E (VIX_E_ROOT_GUEST_OPERATIONS_PROHIBITED, 3019),
  E (VIX_E_MISSING_ANON_GUEST_ACCOUNT, 3023),
  E (VIX_E_CANNOT_AUTHENTICATE_WITH_GUEST, 3024),
  E (VIX_E_UNRECOGNIZED_COMMAND_IN_GUEST, 3025),
  E (VIX_E_CONSOLE_GUEST_OPERATIONS_PROHIBITED, 3026),
  E (VIX_E_MUST_BE_CONSOLE_USER, 3027),
  E (VIX_E_VMX_MSG_DIALOG_AND_NO_UI, 3028),
  E (VIX_E_OPERATION_NOT_ALLOWED_FOR_LOGIN_TYPE, 3031),
  E (VIX_E_LOGIN_TYPE_NOT_SUPPORTED, 3032),
  E (VIX_E_EMPTY_PASSWORD_NOT_ALLOWED_IN_GUEST, 3033),
  E (VIX_E_INTERACTIVE_SESSION_NOT_PRESENT, 3034),
  E (VIX_E_INTERACTIVE_SESSION_USER_MISMATCH, 3035),
  E (VIX_E_CANNOT_POWER_ON_VM, 3041),
  E (VIX_E_NO_DISPLAY_SERVER, 3043),
  E (VIX_E_TOO_MANY_LOGONS, 3046),
  E (VIX_E_INVALID_AUTHENTICATION_SESSION, 3047),
  E (VIX_E_VM_NOT_FOUND, 4000),
  E (VIX_E_NOT_SUPPORTED_FOR_VM_VERSION, 4001),
  E (VIX_E_CANNOT_READ_VM_CONFIG, 4002),
  E (VIX_E_TEMPLATE_VM, 4003),
  E (VIX_E_VM_ALREADY_LOADED, 4004),
  E (VIX_E_VM_ALREADY_UP_TO_DATE, 4006),
  E (VIX_E_VM_UNSUPPORTED_GUEST, 4011),
  E (VIX_E_UNRECOGNIZED_PROPERTY, 6000),
  E (VIX_E_INVALID_PROPERTY_VALUE, 6001),
  E (VIX_E_READ_ONLY_PROPERTY, 6002),
  E (VIX_E_MISSING_REQUIRED_PROPERTY, 6003),
  E (VIX_E_INVALID_SERIALIZED_DATA, 6004),
  E (VIX_E_PROPERTY_TYPE_MISMATCH, 6005),
  E (VIX_E_BAD_VM_INDEX, 8000),
  E (VIX_E_INVALID_MESSAGE_HEADER, 10000),
  E (VIX_E_INVALID_MESSAGE_BODY, 10001),
  E (VIX_E_SNAPSHOT_INVAL, 13000),
  E (VIX_E_SNAPSHOT_DUMPER, 13001),
  E (VIX_E_SNAPSHOT_DISKLIB, 13002),
  E (VIX_E_SNAPSHOT_NOTFOUND, 13003),
  E (VIX_E_SNAPSHOT_EXISTS, 13004),
  E (VIX_E_SNAPSHOT_VERSION, 13005),
  E (VIX_E_SNAPSHOT_NOPERM, 13006),
  E (VIX_E_SNAPSHOT_CONFIG, 13007),
  E (VIX_E_SNAPSHOT_NOCHANGE, 13008),
  E (VIX_E_SNAPSHOT_CHECKPOINT, 13009),
  E (VIX_E_SNAPSHOT_LOCKED, 13010),
  E (VIX_E_SNAPSHOT_INCONSISTENT, 13011),
  E (VIX_E_SNAPSHOT_NAMETOOLONG, 13012),
  E (VIX_E_SNAPSHOT_VIXFILE, 13013),
  E (VIX_E_SNAPSHOT_DISKLOCKED, 13014),
  E (VIX_E_SNAPSHOT_DUPLICATEDDISK, 13015),
  E (VIX_E_SNAPSHOT_INDEPENDENTDISK, 13016),
  E (VIX_E_SNAPSHOT_NONUNIQUE_NAME, 13017),
  E (VIX_E_SNAPSHOT_MEMORY_ON_INDEPENDENT_DISK, 13018),
  E (VIX_E_SNAPSHOT_MAXSNAPSHOTS, 13019),
  E (VIX_E_SNAPSHOT_MIN_FREE_SPACE, 13020),
  E (VIX_E_SNAPSHOT_HIERARCHY_TOODEEP, 13021),
  E (VIX_E_SNAPSHOT_RRSUSPEND, 13022),
  E (VIX_E_SNAPSHOT_NOT_REVERTABLE, 13024),
  E (VIX_E_HOST_DISK_INVALID_VALUE, 14003),
  E (VIX_E_HOST_DISK_SECTORSIZE, 14004),
  E (VIX_E_HOST_FILE_ERROR_EOF, 14005),
  E (VIX_E_HOST_NETBLKDEV_HANDSHAKE, 14006),
  E (VIX_E_HOST_SOCKET_CREATION_ERROR, 14007),
  E (VIX_E_HOST_SERVER_NOT_FOUND, 14008),
  E (VIX_E_HOST_NETWORK_CONN_REFUSED, 14009),
  E (VIX_E_HOST_TCP_SOCKET_ERROR, 14010),
  E (VIX_E_HOST_TCP_CONN_LOST, 14011),
  E (VIX_E_HOST_NBD_HASHFILE_VOLUME, 14012),
  E (VIX_E_HOST_NBD_HASHFILE_INIT, 14013),
  E (VIX_E_DISK_INVAL, 16000),
  E (VIX_E_DISK_NOINIT, 16001),
  E (VIX_E_DISK_NOIO, 16002),
  E (VIX_E_DISK_PARTIALCHAIN, 16003),
  E (VIX_E_DISK_NEEDSREPAIR, 16006),
  E (VIX_E_DISK_OUTOFRANGE, 16007),
  E (VIX_E_DISK_CID_MISMATCH, 16008),
  E (VIX_E_DISK_CANTSHRINK, 16009),
  E (VIX_E_DISK_PARTMISMATCH, 16010),
  E (VIX_E_DISK_UNSUPPORTEDDISKVERSION, 16011),
  E (VIX_E_DISK_OPENPARENT, 16012),
  E (VIX_E_DISK_NOTSUPPORTED, 16013),
  E (VIX_E_DISK_NEEDKEY, 16014),
  E (VIX_E_DISK_NOKEYOVERRIDE, 16015),
  E (VIX_E_DISK_NOTENCRYPTED, 16016),
  E (VIX_E_DISK_NOKEY, 16017),
  E (VIX_E_DISK_INVALIDPARTITIONTABLE, 16018),
  E (VIX_E_DISK_NOTNORMAL, 16019),
  E (VIX_E_DISK_NOTENCDESC, 16020),
  E (VIX_E_DISK_NEEDVMFS, 16022),
  E (VIX_E_DISK_RAWTOOBIG, 16024),
  E (VIX_E_DISK_TOOMANYOPENFILES, 16027),
  E (VIX_E_DISK_TOOMANYREDO, 16028),
  E (VIX_E_DISK_RAWTOOSMALL, 16029),
  E (VIX_E_DISK_INVALIDCHAIN, 16030),
  E (VIX_E_DISK_KEY_NOTFOUND, 16052),
  E (VIX_E_DISK_SUBSYSTEM_INIT_FAIL, 16053),
  E (VIX_E_DISK_INVALID_CONNECTION, 16054),
  E (VIX_E_DISK_ENCODING, 16061),
  E (VIX_E_DISK_CANTREPAIR, 16062),
  E (VIX_E_DISK_INVALIDDISK, 16063),
  E (VIX_E_DISK_NOLICENSE, 16064),
  E (VIX_E_DISK_NODEVICE, 16065),
  E (VIX_E_DISK_UNSUPPORTEDDEVICE, 16066),
  E (VIX_E_DISK_CAPACITY_MISMATCH, 16067),
  E (VIX_E_DISK_PARENT_NOTALLOWED, 16068),
  E (VIX_E_DISK_ATTACH_ROOTLINK, 16069),
  E (VIX_E_CRYPTO_UNKNOWN_ALGORITHM, 17000),
  E (VIX_E_CRYPTO_BAD_BUFFER_SIZE, 17001),
  E (VIX_E_CRYPTO_INVALID_OPERATION, 17002),
  E (VIX_E_CRYPTO_RANDOM_DEVICE, 17003),
  E (VIX_E_CRYPTO_NEED_PASSWORD, 17004),
  E (VIX_E_CRYPTO_BAD_PASSWORD, 17005),
  E (VIX_E_CRYPTO_NOT_IN_DICTIONARY, 17006),
  E (VIX_E_CRYPTO_NO_CRYPTO, 17007),
  E (VIX_E_CRYPTO_ERROR, 17008),
  E (VIX_E_CRYPTO_BAD_FORMAT, 17009),
  E (VIX_E_CRYPTO_LOCKED, 17010),
  E (VIX_E_CRYPTO_EMPTY, 17011),
  E (VIX_E_CRYPTO_KEYSAFE_LOCATOR, 17012),
  E (VIX_E_CANNOT_CONNECT_TO_HOST, 18000),
  E (VIX_E_NOT_FOR_REMOTE_HOST, 18001),
  E (VIX_E_INVALID_HOSTNAME_SPECIFICATION, 18002),
  E (VIX_E_SCREEN_CAPTURE_ERROR, 19000),
  E (VIX_E_SCREEN_CAPTURE_BAD_FORMAT, 19001),
  E (VIX_E_SCREEN_CAPTURE_COMPRESSION_FAIL, 19002),
  E (VIX_E_SCREEN_CAPTURE_LARGE_DATA, 19003),
  E (VIX_E_GUEST_VOLUMES_NOT_FROZEN, 20000),
  E (VIX_E_NOT_A_FILE, 20001),
  E (VIX_E_NOT_A_DIRECTORY, 20002),
  E (VIX_E_NO_SUCH_PROCESS, 20003),
  E (VIX_E_FILE_NAME_TOO_LONG, 20004),
  E (VIX_E_OPERATION_DISABLED, 20005),
  E (VIX_E_TOOLS_INSTALL_NO_IMAGE, 21000),
  E (VIX_E_TOOLS_INSTALL_IMAGE_INACCESIBLE, 21001),
  E (VIX_E_TOOLS_INSTALL_NO_DEVICE, 21002),
  E (VIX_E_TOOLS_INSTALL_DEVICE_NOT_CONNECTED, 21003),
  E (VIX_E_TOOLS_INSTALL_CANCELLED, 21004),
  E (VIX_E_TOOLS_INSTALL_INIT_FAILED, 21005),
  E (VIX_E_TOOLS_INSTALL_AUTO_NOT_SUPPORTED, 21006),
  E (VIX_E_TOOLS_INSTALL_GUEST_NOT_READY, 21007),
  E (VIX_E_TOOLS_INSTALL_SIG_CHECK_FAILED, 21008),
  E (VIX_E_TOOLS_INSTALL_ERROR, 21009),
  E (VIX_E_TOOLS_INSTALL_ALREADY_UP_TO_DATE, 21010),
  E (VIX_E_TOOLS_INSTALL_IN_PROGRESS, 21011),
  E (VIX_E_TOOLS_INSTALL_IMAGE_COPY_FAILED, 21012),
  E (VIX_E_WRAPPER_WORKSTATION_NOT_INSTALLED, 22001),
  E (VIX_E_WRAPPER_VERSION_NOT_FOUND, 22002),
  E (VIX_E_WRAPPER_SERVICEPROVIDER_NOT_FOUND, 22003),
  E (VIX_E_WRAPPER_PLAYER_NOT_INSTALLED, 22004),
  E (VIX_E_WRAPPER_RUNTIME_NOT_INSTALLED, 22005),
  E (VIX_E_WRAPPER_MULTIPLE_SERVICEPROVIDERS, 22006),
  E (VIX_E_MNTAPI_MOUNTPT_NOT_FOUND, 24000),
  E (VIX_E_MNTAPI_MOUNTPT_IN_USE, 24001),
  E (VIX_E_MNTAPI_DISK_NOT_FOUND, 24002),
  E (VIX_E_MNTAPI_DISK_NOT_MOUNTED, 24003),
  E (VIX_E_MNTAPI_DISK_IS_MOUNTED, 24004),
  E (VIX_E_MNTAPI_DISK_NOT_SAFE, 24005),
  E (VIX_E_MNTAPI_DISK_CANT_OPEN, 24006),
  E (VIX_E_MNTAPI_CANT_READ_PARTS, 24007),
  E (VIX_E_MNTAPI_UMOUNT_APP_NOT_FOUND, 24008),
  E (VIX_E_MNTAPI_UMOUNT, 24009),
  E (VIX_E_MNTAPI_NO_MOUNTABLE_PARTITONS, 24010),
  E (VIX_E_MNTAPI_PARTITION_RANGE, 24011),
  E (VIX_E_MNTAPI_PERM, 24012),
  E (VIX_E_MNTAPI_DICT, 24013),
  E (VIX_E_MNTAPI_DICT_LOCKED, 24014),
  E (VIX_E_MNTAPI_OPEN_HANDLES, 24015),
  E (VIX_E_MNTAPI_CANT_MAKE_VAR_DIR, 24016),
  E (VIX_E_MNTAPI_NO_ROOT, 24017),
  E (VIX_E_MNTAPI_LOOP_FAILED, 24018),
  E (VIX_E_MNTAPI_DAEMON, 24019),
  E (VIX_E_MNTAPI_INTERNAL, 24020),
  E (VIX_E_MNTAPI_SYSTEM, 24021),
  E (VIX_E_MNTAPI_NO_CONNECTION_DETAILS, 24022),
  E (VIX_E_MNTAPI_INCOMPATIBLE_VERSION, 24300),
  E (VIX_E_MNTAPI_OS_ERROR, 24301),
  E (VIX_E_MNTAPI_DRIVE_LETTER_IN_USE, 24302),
  E (VIX_E_MNTAPI_DRIVE_LETTER_ALREADY_ASSIGNED, 24303),
  E (VIX_E_MNTAPI_VOLUME_NOT_MOUNTED, 24304),
  E (VIX_E_MNTAPI_VOLUME_ALREADY_MOUNTED, 24305),
  E (VIX_E_MNTAPI_FORMAT_FAILURE, 24306),
  E (VIX_E_MNTAPI_NO_DRIVER, 24307),
  E (VIX_E_MNTAPI_ALREADY_OPENED, 24308),
  E (VIX_E_MNTAPI_ITEM_NOT_FOUND, 24309),
  E (VIX_E_MNTAPI_UNSUPPROTED_BOOT_LOADER, 24310),
  E (VIX_E_MNTAPI_UNSUPPROTED_OS, 24311),
  E (VIX_E_MNTAPI_CODECONVERSION, 24312),
  E (VIX_E_MNTAPI_REGWRITE_ERROR, 24313),
  E (VIX_E_MNTAPI_UNSUPPORTED_FT_VOLUME, 24314),
  E (VIX_E_MNTAPI_PARTITION_NOT_FOUND, 24315),
  E (VIX_E_MNTAPI_PUTFILE_ERROR, 24316),
  E (VIX_E_MNTAPI_GETFILE_ERROR, 24317),
  E (VIX_E_MNTAPI_REG_NOT_OPENED, 24318),
  E (VIX_E_MNTAPI_REGDELKEY_ERROR, 24319),
  E (VIX_E_MNTAPI_CREATE_PARTITIONTABLE_ERROR, 24320),
  E (VIX_E_MNTAPI_OPEN_FAILURE, 24321),
  E (VIX_E_MNTAPI_VOLUME_NOT_WRITABLE, 24322),
  E (VIX_ASYNC, 25000),
  E (VIX_E_ASYNC_MIXEDMODE_UNSUPPORTED, 26000),
  E (VIX_E_NET_HTTP_UNSUPPORTED_PROTOCOL, 30001),
  E (VIX_E_NET_HTTP_URL_MALFORMAT, 30003),
  E (VIX_E_NET_HTTP_COULDNT_RESOLVE_PROXY, 30005),
  E (VIX_E_NET_HTTP_COULDNT_RESOLVE_HOST, 30006),
  E (VIX_E_NET_HTTP_COULDNT_CONNECT, 30007),
  E (VIX_E_NET_HTTP_HTTP_RETURNED_ERROR, 30022),
  E (VIX_E_NET_HTTP_OPERATION_TIMEDOUT, 30028),
  E (VIX_E_NET_HTTP_SSL_CONNECT_ERROR, 30035),
  E (VIX_E_NET_HTTP_TOO_MANY_REDIRECTS, 30047),
  E (VIX_E_NET_HTTP_TRANSFER, 30200),
  E (VIX_E_NET_HTTP_SSL_SECURITY, 30201),
  E (VIX_E_NET_HTTP_GENERIC, 30202),
};
#undef E

/* ---- prototypes (vix-api.md 1.8 and 2.4) -------------------------------- */
#define F(name, ret, params) \
  check ("prototype of " #name " matches the fact sheet", \
         __builtin_types_compatible_p (__typeof__ (&name), ret (*) params), 1)

static void
prototypes (void)
{
  F (VixDiskLib_Init, VixError, (uint32 majorVersion, uint32 minorVersion, VixDiskLibGenericLogFunc *log, VixDiskLibGenericLogFunc *warn, VixDiskLibGenericLogFunc *panic, const char *libDir));
  F (VixDiskLib_InitEx, VixError, (uint32 majorVersion, uint32 minorVersion, VixDiskLibGenericLogFunc *log, VixDiskLibGenericLogFunc *warn, VixDiskLibGenericLogFunc *panic, const char *libDir, const char *configFile));
  F (VixDiskLib_Exit, void, (void));
  F (VixDiskLib_ListTransportModes, const char *, (void));
  F (VixDiskLib_Cleanup, VixError, (const VixDiskLibConnectParams *connectParams, uint32 *numCleanedUp, uint32 *numRemaining));
  F (VixDiskLib_Connect, VixError, (const VixDiskLibConnectParams *connectParams, VixDiskLibConnection *connection));
  F (VixDiskLib_ConnectEx, VixError, (const VixDiskLibConnectParams *connectParams, Bool readOnly, const char *snapshotRef, const char *transportModes, VixDiskLibConnection *connection));
  F (VixDiskLib_Disconnect, VixError, (VixDiskLibConnection connection));
  F (VixDiskLib_PrepareForAccess, VixError, (const VixDiskLibConnectParams *connectParams, const char *identity));
  F (VixDiskLib_EndAccess, VixError, (const VixDiskLibConnectParams *connectParams, const char *identity));
  F (VixDiskLib_GetConnectParams, VixError, (const VixDiskLibConnection connection, VixDiskLibConnectParams **connectParams));
  F (VixDiskLib_FreeConnectParams, void, (VixDiskLibConnectParams *connectParams));
  F (VixDiskLib_AllocateConnectParams, VixDiskLibConnectParams *, (void));
  F (VixDiskLib_Open, VixError, (const VixDiskLibConnection connection, const char *path, uint32 flags, VixDiskLibHandle *diskHandle));
  F (VixDiskLib_Close, VixError, (VixDiskLibHandle diskHandle));
  F (VixDiskLib_GetInfo, VixError, (VixDiskLibHandle diskHandle, VixDiskLibInfo **info));
  F (VixDiskLib_FreeInfo, void, (VixDiskLibInfo *info));
  F (VixDiskLib_GetTransportMode, const char *, (VixDiskLibHandle diskHandle));
  F (VixDiskLib_Read, VixError, (VixDiskLibHandle diskHandle, VixDiskLibSectorType startSector, VixDiskLibSectorType numSectors, uint8 *readBuffer));
  F (VixDiskLib_Write, VixError, (VixDiskLibHandle diskHandle, VixDiskLibSectorType startSector, VixDiskLibSectorType numSectors, const uint8 *writeBuffer));
  F (VixDiskLib_ReadAsync, VixError, (VixDiskLibHandle diskHandle, VixDiskLibSectorType startSector, VixDiskLibSectorType numSectors, uint8 *readBuffer, VixDiskLibCompletionCB callback, void *cbData));
  F (VixDiskLib_WriteAsync, VixError, (VixDiskLibHandle diskHandle, VixDiskLibSectorType startSector, VixDiskLibSectorType numSectors, const uint8 *writeBuffer, VixDiskLibCompletionCB callback, void *cbData));
  F (VixDiskLib_Flush, VixError, (VixDiskLibHandle diskHandle));
  F (VixDiskLib_Wait, VixError, (VixDiskLibHandle diskHandle));
  F (VixDiskLib_QueryAllocatedBlocks, VixError, (VixDiskLibHandle diskHandle, VixDiskLibSectorType startSector, VixDiskLibSectorType numSectors, VixDiskLibSectorType chunkSize, VixDiskLibBlockList **blockList));
  F (VixDiskLib_FreeBlockList, VixError, (VixDiskLibBlockList *blockList));
  F (VixDiskLib_ReadMetadata, VixError, (VixDiskLibHandle diskHandle, const char *key, char *buf, size_t bufLen, size_t *requiredLen));
  F (VixDiskLib_WriteMetadata, VixError, (VixDiskLibHandle diskHandle, const char *key, const char *val));
  F (VixDiskLib_GetMetadataKeys, VixError, (VixDiskLibHandle diskHandle, char *keys, size_t maxLen, size_t *requiredLen));
  F (VixDiskLib_Create, VixError, (const VixDiskLibConnection connection, const char *path, const VixDiskLibCreateParams *createParams, VixDiskLibProgressFunc progressFunc, void *progressCallbackData));
  F (VixDiskLib_CreateChild, VixError, (VixDiskLibHandle diskHandle, const char *childPath, VixDiskLibDiskType diskType, VixDiskLibProgressFunc progressFunc, void *progressCallbackData));
  F (VixDiskLib_Clone, VixError, (const VixDiskLibConnection dstConnection, const char *dstPath, const VixDiskLibConnection srcConnection, const char *srcPath, const VixDiskLibCreateParams *vixCreateParams, VixDiskLibProgressFunc progressFunc, void *progressCallbackData, Bool overWrite));
  F (VixDiskLib_Grow, VixError, (VixDiskLibConnection connection, const char *path, VixDiskLibSectorType capacity, Bool updateGeometry, VixDiskLibProgressFunc progressFunc, void *progressCallbackData));
  F (VixDiskLib_Shrink, VixError, (VixDiskLibHandle diskHandle, VixDiskLibProgressFunc progressFunc, void *progressCallbackData));
  F (VixDiskLib_Defragment, VixError, (VixDiskLibHandle diskHandle, VixDiskLibProgressFunc progressFunc, void *progressCallbackData));
  F (VixDiskLib_Rename, VixError, (const char *srcFileName, const char *dstFileName));
  F (VixDiskLib_Unlink, VixError, (VixDiskLibConnection connection, const char *path));
  F (VixDiskLib_IsAttachPossible, VixError, (VixDiskLibHandle parent, VixDiskLibHandle child));
  F (VixDiskLib_Attach, VixError, (VixDiskLibHandle parent, VixDiskLibHandle child));
  F (VixDiskLib_SpaceNeededForClone, VixError, (VixDiskLibHandle diskHandle, VixDiskLibDiskType cloneDiskType, uint64 *spaceNeeded));
  F (VixDiskLib_CheckRepair, VixError, (const VixDiskLibConnection connection, const char *filename, Bool repair));
  F (VixDiskLib_GetErrorText, char       *, (VixError err, const char *locale));
  F (VixDiskLib_FreeErrorText, void, (char *errMsg));
  F (VixMntapi_Init, VixError, (uint32 majorVersion, uint32 minorVersion, VixDiskLibGenericLogFunc *log, VixDiskLibGenericLogFunc *warn, VixDiskLibGenericLogFunc *panic, const char *libDir, const char *configFile));
  F (VixMntapi_Exit, void, (void));
  F (VixMntapi_OpenDiskSet, VixError, (VixDiskLibHandle diskHandles[], size_t numberOfDisks, uint32 openMode, VixDiskSetHandle *handle));
  F (VixMntapi_OpenDisks, VixError, (VixDiskLibConnection connection, const char *diskNames[], size_t numberOfDisks, uint32 openFlags, VixDiskSetHandle *handle));
  F (VixMntapi_GetDiskSetInfo, VixError, (VixDiskSetHandle handle, VixDiskSetInfo **diskSetInfo));
  F (VixMntapi_FreeDiskSetInfo, void, (VixDiskSetInfo *diskSetInfo));
  F (VixMntapi_CloseDiskSet, VixError, (VixDiskSetHandle diskSet));
  F (VixMntapi_GetVolumeHandles, VixError, (VixDiskSetHandle diskSet, size_t *numberOfVolumes, VixVolumeHandle *volumeHandles[]));
  F (VixMntapi_FreeVolumeHandles, void, (VixVolumeHandle *volumeHandles));
  F (VixMntapi_GetOsInfo, VixError, (VixDiskSetHandle diskSet, VixOsInfo **info));
  F (VixMntapi_FreeOsInfo, void, (VixOsInfo *info));
  F (VixMntapi_MountVolume, VixError, (VixVolumeHandle volumeHandle, Bool readOnly));
  F (VixMntapi_DismountVolume, VixError, (VixVolumeHandle volumeHandle, Bool force));
  F (VixMntapi_GetVolumeInfo, VixError, (VixVolumeHandle volumeHandle, VixVolumeInfo **info));
  F (VixMntapi_FreeVolumeInfo, void, (VixVolumeInfo *info));
}

/* The callback types must have exactly these shapes (1.7). */
static void log_fn (const char *fmt, va_list args) { (void) fmt; (void) args; }
static void logv_fn (int r, const char *fmt, va_list args)
{ (void) r; (void) fmt; (void) args; }
static Bool progress_fn (void *data, int pct) { (void) data; (void) pct; return TRUE; }
static void completion_fn (void *data, VixError result) { (void) data; (void) result; }

int
main (void)
{
  /* ---- 1.1 basic types -------------------------------------------------- */
  SIZE (Bool, 1);
  SIZE (uint8, 1); SIZE (int8, 1); SIZE (uint16, 2); SIZE (int16, 2);
  SIZE (uint32, 4); SIZE (int32, 4); SIZE (uint64, 8); SIZE (int64, 8);
  SIZE (VixError, 8);
  SIZE (VixDiskLibSectorType, 8);
  check ("uint64 is unsigned", (uint64) -1 > 0, 1);
  check ("TRUE", TRUE, 1);
  check ("FALSE", FALSE, 0);
  {
    char buf[64];
    snprintf (buf, sizeof buf, "%" FMT64 "u", (uint64) 18446744073709551615ULL);
    check ("FMT64 prints a uint64", strcmp (buf, "18446744073709551615") == 0, 1);
  }

  /* ---- 1.2 version macros ----------------------------------------------- */
#ifdef VIXDISKLIB_VERSION_MAJOR
  check ("VIXDISKLIB_VERSION_MAJOR is not defined by the header", 0, 1);
#else
  check ("VIXDISKLIB_VERSION_MAJOR is not defined by the header", 1, 1);
#endif
#ifdef VIXDISKLIB_VERSION_MINOR
  check ("VIXDISKLIB_VERSION_MINOR is not defined by the header", 0, 1);
#else
  check ("VIXDISKLIB_VERSION_MINOR is not defined by the header", 1, 1);
#endif
  VAL (VIXMNTAPI_MAJOR_VERSION, 1);
  VAL (VIXMNTAPI_MINOR_VERSION, 0);

  /* ---- 1.3 error model -------------------------------------------------- */
  for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
    check (errors[i].name, errors[i].got, errors[i].want);
  check ("VIX_ERROR_CODE (0x123450018)", VIX_ERROR_CODE (UINT64_C (0x123450018)),
         0x18);
  check ("VIX_SUCCEEDED (VIX_OK)", VIX_SUCCEEDED ((VixError) VIX_OK), 1);
  check ("VIX_FAILED (VIX_OK)", VIX_FAILED ((VixError) VIX_OK), 0);
  check ("VIX_FAILED (VIX_ASYNC)", VIX_FAILED ((VixError) VIX_ASYNC), 1);
  check ("VIX_FAILED (1 << 16) (whole 64 bits compared)",
         VIX_FAILED ((VixError) 1 << 16), 1);

  /* ---- 1.4 constants and open flags ------------------------------------- */
  VAL (VIXDISKLIB_SECTOR_SIZE, 512);
  VAL (VIXDISKLIB_FLAG_OPEN_UNBUFFERED, 1);
  VAL (VIXDISKLIB_FLAG_OPEN_SINGLE_LINK, 2);
  VAL (VIXDISKLIB_FLAG_OPEN_READ_ONLY, 4);
  VAL (VIXDISKLIB_FLAG_OPEN_COMPRESSION_ZLIB, 16);
  VAL (VIXDISKLIB_FLAG_OPEN_COMPRESSION_FASTLZ, 32);
  VAL (VIXDISKLIB_FLAG_OPEN_COMPRESSION_SKIPZ, 64);
  /* value not established; must at least cover the three bits */
  check ("VIXDISKLIB_FLAG_OPEN_COMPRESSION_MASK covers 16|32|64",
         (VIXDISKLIB_FLAG_OPEN_COMPRESSION_MASK & 112) == 112, 1);
  VAL (VIXDISKLIB_MIN_CHUNK_SIZE, 128);
  VAL (VIXDISKLIB_MAX_CHUNK_NUMBER, 524288);

  /* ---- 1.5 enumerations -------------------------------------------------- */
  VAL (VIXDISKLIB_DISK_MONOLITHIC_SPARSE, 1);
  VAL (VIXDISKLIB_DISK_MONOLITHIC_FLAT, 2);
  VAL (VIXDISKLIB_DISK_SPLIT_SPARSE, 3);
  VAL (VIXDISKLIB_DISK_SPLIT_FLAT, 4);
  VAL (VIXDISKLIB_DISK_VMFS_FLAT, 5);
  VAL (VIXDISKLIB_DISK_STREAM_OPTIMIZED, 6);
  VAL (VIXDISKLIB_DISK_VMFS_THIN, 7);
  VAL (VIXDISKLIB_DISK_VMFS_SPARSE, 8);
  VAL (VIXDISKLIB_DISK_UNKNOWN, 256);
  VAL (VIXDISKLIB_ADAPTER_IDE, 1);
  VAL (VIXDISKLIB_ADAPTER_SCSI_BUSLOGIC, 2);
  VAL (VIXDISKLIB_ADAPTER_SCSI_LSILOGIC, 3);
  VAL (VIXDISKLIB_ADAPTER_UNKNOWN, 256);
  VAL (VIXDISKLIB_CRED_UID, 1);
  VAL (VIXDISKLIB_CRED_SESSIONID, 2);
  VAL (VIXDISKLIB_CRED_TICKETID, 3);
  VAL (VIXDISKLIB_CRED_SSPI, 4);
  VAL (VIXDISKLIB_CRED_UNKNOWN, 256);
  VAL (VIXDISKLIB_SPEC_VMX, 0);
  VAL (VIXDISKLIB_SPEC_VSTORAGE_OBJECT, 1);
  VAL (VIXDISKLIB_SPEC_UNKNOWN, 2);
  SIZE (VixDiskLibDiskType, 4);
  SIZE (VixDiskLibAdapterType, 4);
  SIZE (VixDiskLibCredType, 4);
  SIZE (VixDiskLibSpecType, 4);
  VAL (VIXDISKLIB_HWVERSION_WORKSTATION_4, 3);
  VAL (VIXDISKLIB_HWVERSION_WORKSTATION_5, 4);
  VAL (VIXDISKLIB_HWVERSION_WORKSTATION_6, 6);
  VAL (VIXDISKLIB_HWVERSION_ESX30, 4);
  VAL (VIXDISKLIB_HWVERSION_ESX4X, 7);
  VAL (VIXDISKLIB_HWVERSION_ESX50, 8);
  VAL (VIXDISKLIB_HWVERSION_ESX51, 9);
  VAL (VIXDISKLIB_HWVERSION_ESX55, 10);
  VAL (VIXDISKLIB_HWVERSION_ESX60, 11);
  VAL (VIXDISKLIB_HWVERSION_ESX65, 13);
  check ("VIXDISKLIB_HWVERSION_CURRENT is at least ESX55 (10)",
         VIXDISKLIB_HWVERSION_CURRENT >= 10, 1);

  /* ---- 1.6 structures and handles ---------------------------------------- */
  SIZE (VixDiskLibHandle, 8);
  SIZE (VixDiskLibConnection, 8);
  check ("VixDiskLibHandle is struct VixDiskLibHandleStruct *",
         __builtin_types_compatible_p (VixDiskLibHandle,
                                       struct VixDiskLibHandleStruct *), 1);
  check ("VixDiskLibConnection is struct VixDiskLibConnectParam *",
         __builtin_types_compatible_p (VixDiskLibConnection,
                                       struct VixDiskLibConnectParam *), 1);
  check ("VixDiskLibConnectParamsState is a struct type",
         __builtin_types_compatible_p (VixDiskLibConnectParamsState *,
                                       struct VixDiskLibConnectParamsState *), 1);

  SIZE (VixDiskLibGeometry, 12);
  check ("alignof (VixDiskLibGeometry)", _Alignof (VixDiskLibGeometry), 4);
  OFF (VixDiskLibGeometry, cylinders, 0);
  OFF (VixDiskLibGeometry, heads, 4);
  OFF (VixDiskLibGeometry, sectors, 8);

  SIZE (VixDiskLibInfo, 64);
  OFF (VixDiskLibInfo, biosGeo, 0);
  OFF (VixDiskLibInfo, physGeo, 12);
  OFF (VixDiskLibInfo, capacity, 24);
  OFF (VixDiskLibInfo, adapterType, 32);
  OFF (VixDiskLibInfo, numLinks, 36);
  OFF (VixDiskLibInfo, parentFileNameHint, 40);
  OFF (VixDiskLibInfo, uuid, 48);
  OFF (VixDiskLibInfo, logicalSectorSize, 56);
  OFF (VixDiskLibInfo, physicalSectorSize, 60);
  MSIZE (VixDiskLibInfo, numLinks, 4);

  SIZE (VixDiskLibCreateParams, 32);
  OFF (VixDiskLibCreateParams, diskType, 0);
  OFF (VixDiskLibCreateParams, adapterType, 4);
  OFF (VixDiskLibCreateParams, hwVersion, 8);
  MSIZE (VixDiskLibCreateParams, hwVersion, 2);
  OFF (VixDiskLibCreateParams, capacity, 16);
  OFF (VixDiskLibCreateParams, logicalSectorSize, 24);
  OFF (VixDiskLibCreateParams, physicalSectorSize, 28);

  SIZE (VixDiskLibConnectParams, 128);
  OFF (VixDiskLibConnectParams, vmxSpec, 0);
  OFF (VixDiskLibConnectParams, serverName, 8);
  OFF (VixDiskLibConnectParams, thumbPrint, 16);
  OFF (VixDiskLibConnectParams, privateUse, 24);
  MSIZE (VixDiskLibConnectParams, privateUse, 8);
  OFF (VixDiskLibConnectParams, credType, 32);
  OFF (VixDiskLibConnectParams, creds, 40);
  MSIZE (VixDiskLibConnectParams, creds, 24);
  OFF (VixDiskLibConnectParams, port, 64);
  OFF (VixDiskLibConnectParams, nfcHostPort, 68);
  OFF (VixDiskLibConnectParams, vimApiVer, 72);
  OFF (VixDiskLibConnectParams, reserved, 80);
  MSIZE (VixDiskLibConnectParams, reserved, 8);
  OFF (VixDiskLibConnectParams, state, 88);
  OFF (VixDiskLibConnectParams, spec, 96);
  MSIZE (VixDiskLibConnectParams, spec, 24);
  OFF (VixDiskLibConnectParams, spec.vStorageObjSpec, 96);
  OFF (VixDiskLibConnectParams, specType, 120);
  OFF (VixDiskLibConnectParams, creds.uid.userName, 40);
  OFF (VixDiskLibConnectParams, creds.uid.password, 48);
  OFF (VixDiskLibConnectParams, creds.sessionId.cookie, 40);
  OFF (VixDiskLibConnectParams, creds.sessionId.userName, 48);
  OFF (VixDiskLibConnectParams, creds.sessionId.key, 56);
  OFF (VixDiskLibConnectParams, creds.ticketId, 40);
  check ("creds.ticketId is struct VixDiskLibTicketIdCreds *",
         __builtin_types_compatible_p (__typeof__ (((VixDiskLibConnectParams *) 0)
                                                   ->creds.ticketId),
                                       struct VixDiskLibTicketIdCreds *), 1);
  SIZE (struct VixDiskLibUidPasswdCreds, 16);
  SIZE (struct VixDiskLibSessionIdCreds, 24);

  SIZE (VixDiskLibVStorageObjectSpec, 24);
  OFF (VixDiskLibVStorageObjectSpec, id, 0);
  OFF (VixDiskLibVStorageObjectSpec, datastoreMoRef, 8);
  OFF (VixDiskLibVStorageObjectSpec, ssId, 16);

  SIZE (VixDiskLibBlock, 16);
  OFF (VixDiskLibBlock, offset, 0);
  OFF (VixDiskLibBlock, length, 8);
  SIZE (VixDiskLibBlockList, 24);
  OFF (VixDiskLibBlockList, numBlocks, 0);
  MSIZE (VixDiskLibBlockList, numBlocks, 4);
  OFF (VixDiskLibBlockList, blocks, 8);

  /* ---- 1.7 callbacks ------------------------------------------------------- */
  {
    VixDiskLibGenericLogFunc *lf = log_fn;
    VixDiskLibGenericLogVFunc *lvf = logv_fn;
    VixDiskLibProgressFunc pf = progress_fn;
    VixDiskLibCompletionCB cf = completion_fn;
    check ("VixDiskLibGenericLogFunc is void (const char *, va_list)",
           __builtin_types_compatible_p (VixDiskLibGenericLogFunc,
                                         void (const char *, va_list)), 1);
    check ("VixDiskLibGenericLogVFunc is void (int, const char *, va_list)",
           __builtin_types_compatible_p (VixDiskLibGenericLogVFunc,
                                         void (int, const char *, va_list)), 1);
    check ("VixDiskLibProgressFunc is Bool (*) (void *, int)",
           __builtin_types_compatible_p (VixDiskLibProgressFunc,
                                         Bool (*) (void *, int)), 1);
    check ("VixDiskLibCompletionCB is void (*) (void *, VixError)",
           __builtin_types_compatible_p (VixDiskLibCompletionCB,
                                         void (*) (void *, VixError)), 1);
    (void) lf; (void) lvf; (void) pf; (void) cf;
  }

  /* ---- 1.8, 2.4 prototypes ------------------------------------------------- */
  prototypes ();

  /* ---- 2.2 VixMntapi enumerations ------------------------------------------- */
  VAL (VIXMNTAPI_NO_OS, 0);
  VAL (VIXMNTAPI_WINDOWS, 1);
  VAL (VIXMNTAPI_OTHER, 255);
  VAL (VIXMNTAPI_UNKNOWN_VOLTYPE, 0);
  VAL (VIXMNTAPI_BASIC_PARTITION, 1);
  VAL (VIXMNTAPI_GPT_PARTITION, 2);
  VAL (VIXMNTAPI_DYNAMIC_VOLUME, 3);
  VAL (VIXMNTAPI_LVM_VOLUME, 4);
  SIZE (VixOsFamily, 4);
  SIZE (VixVolumeType, 4);
  check ("VixOsFamily is enum VixOsFamily",
         __builtin_types_compatible_p (VixOsFamily, enum VixOsFamily), 1);
  check ("VixVolumeType is enum VixVolumeType",
         __builtin_types_compatible_p (VixVolumeType, enum VixVolumeType), 1);

  /* ---- 2.3 VixMntapi structures and handles --------------------------------- */
  SIZE (VixOsInfo, 40);
  OFF (VixOsInfo, family, 0);
  OFF (VixOsInfo, majorVersion, 4);
  OFF (VixOsInfo, minorVersion, 8);
  OFF (VixOsInfo, osIs64Bit, 12);
  OFF (VixOsInfo, vendor, 16);
  OFF (VixOsInfo, edition, 24);
  OFF (VixOsInfo, osFolder, 32);
  SIZE (VixVolumeInfo, 32);
  OFF (VixVolumeInfo, type, 0);
  OFF (VixVolumeInfo, isMounted, 4);
  OFF (VixVolumeInfo, symbolicLink, 8);
  OFF (VixVolumeInfo, numGuestMountPoints, 16);
  MSIZE (VixVolumeInfo, numGuestMountPoints, 8);
  OFF (VixVolumeInfo, inGuestMountPoints, 24);
  MSIZE (VixVolumeInfo, inGuestMountPoints, 8);
  SIZE (VixDiskSetInfo, 16);
  OFF (VixDiskSetInfo, openFlags, 0);
  OFF (VixDiskSetInfo, mountPath, 8);
  SIZE (VixDiskSetHandle, 8);
  SIZE (VixVolumeHandle, 8);
  check ("VixDiskSetHandle is struct VixDiskSetHandleStruct *",
         __builtin_types_compatible_p (VixDiskSetHandle,
                                       struct VixDiskSetHandleStruct *), 1);
  check ("VixVolumeHandle is struct VixVolumeHandleStruct *",
         __builtin_types_compatible_p (VixVolumeHandle,
                                       struct VixVolumeHandleStruct *), 1);

  return failures ? 1 : 0;
}
