/* tests/unit/test-descriptor: the VMDK text descriptor parser
 * (common/vmdk/descriptor.c, vx_desc_parse) on descriptors in memory. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "tap.h"

/* Parses TEXT (its strlen); the result of vx_desc_parse. */
static int
parse (const char *text, struct descriptor *d, struct vmdk_error *err)
{
  memset (err, 0, sizeof *err);
  return vx_desc_parse (text, strlen (text), "t.vmdk", d, err);
}

/* TEXT must be refused with CODE and a message containing WANT. */
static void
refused (const char *text, enum vmdk_errcode code, const char *want, const char *what)
{
  struct descriptor d;
  struct vmdk_error err;

  is_int (parse (text, &d, &err), -1, "%s: refused", what);
  is_str (vmdk_errcode_name (err.code), vmdk_errcode_name (code), "%s: %s", what,
          vmdk_errcode_name (code));
  ok (strstr (err.msg, want) != NULL, "%s: message says \"%s\"", what, want);
  if (strstr (err.msg, want) == NULL)
    printf ("#   message: %s\n", err.msg);
}

static void
test_full (void)
{
  static const char text[] =
    "# Disk DescriptorFile\r\n"
    "version=1\r\n"
    "encoding=\"UTF-8\"\r\n"
    "CID=fffffffe\r\n"
    "parentCID=ffffffff\r\n"
    "createType=\"twoGbMaxExtentSparse\"\r\n"
    "\r\n"
    "# Extent description\r\n"
    "RW 4192256 SPARSE \"my disk-s001.vmdk\"\r\n"
    "RDONLY 2048 FLAT \"flat file.bin\" 1024\r\n"
    "NOACCESS 512 ZERO\r\n"
    "RW 100 VMFS \"v-flat.vmdk\" 0  # trailing comment\r\n"
    "  RW\t7\tVMFSSPARSE \"d.vmdk\"\r\n"
    "RW 8 SESPARSE \"s.vmdk\"\r\n"
    "\r\n"
    "# The Disk Data Base\r\n"
    "#DDB\r\n"
    "\r\n"
    "ddb.virtualHWVersion = \"4\"\r\n"
    "ddb.geometry.cylinders = \"16383\"\r\n"
    "ddb.adapterType=\"ide\"\r\n"
    "ddb.comment = \"a # inside quotes\"\r\n";
  struct descriptor d;
  struct vmdk_error err;

  if (!ok (parse (text, &d, &err) == 0, "full descriptor (CRLF) parsed"))
    printf ("#   %s\n", err.msg);
  is_u64 (d.version, 1, "version 1");
  is_str (d.encoding, "UTF-8", "encoding");
  ok (d.has_cid, "has CID");
  is_u64 (d.cid, 0xfffffffe, "CID fffffffe");
  is_u64 (d.parent_cid, 0xffffffff, "parentCID ffffffff");
  is_str (d.create_type, "twoGbMaxExtentSparse", "createType, quotes dropped");
  ok (d.parent_hint == NULL, "no parentFileNameHint");
  is_u64 (d.n_extents, 6, "six extents");
  if (d.n_extents == 6) {
    is_int (d.extents[0].access, VMDK_ACCESS_RW, "extent 0: RW");
    is_int (d.extents[0].type, VMDK_EXTENT_SPARSE, "extent 0: SPARSE");
    is_u64 (d.extents[0].sectors, 4192256, "extent 0: sectors");
    is_str (d.extents[0].filename, "my disk-s001.vmdk", "extent 0: name with a space");
    ok (!d.extents[0].has_offset, "extent 0: no offset");
    is_int (d.extents[1].access, VMDK_ACCESS_RDONLY, "extent 1: RDONLY");
    is_int (d.extents[1].type, VMDK_EXTENT_FLAT, "extent 1: FLAT");
    is_u64 (d.extents[1].sectors, 2048, "extent 1: sectors");
    is_str (d.extents[1].filename, "flat file.bin", "extent 1: name");
    ok (d.extents[1].has_offset, "extent 1: has an offset");
    is_u64 (d.extents[1].offset, 1024, "extent 1: offset 1024");
    is_int (d.extents[2].access, VMDK_ACCESS_NOACCESS, "extent 2: NOACCESS");
    is_int (d.extents[2].type, VMDK_EXTENT_ZERO, "extent 2: ZERO");
    ok (d.extents[2].filename == NULL, "extent 2: ZERO has no file");
    is_u64 (d.extents[2].sectors, 512, "extent 2: sectors");
    is_int (d.extents[3].type, VMDK_EXTENT_VMFS, "extent 3: VMFS");
    ok (d.extents[3].has_offset && d.extents[3].offset == 0, "extent 3: offset 0");
    is_int (d.extents[4].type, VMDK_EXTENT_VMFSSPARSE, "extent 4: VMFSSPARSE (tabs)");
    is_u64 (d.extents[4].sectors, 7, "extent 4: sectors");
    is_int (d.extents[5].type, VMDK_EXTENT_SESPARSE, "extent 5: SESPARSE");
    is_u64 (d.extents[3].line, 12, "extent 3: line number 12");
  }
  is_u64 (d.n_ddb, 4, "four ddb keys");
  if (d.n_ddb == 4) {
    is_str (d.ddb[0].key, "ddb.virtualHWVersion", "ddb 0: key");
    is_str (d.ddb[0].value, "4", "ddb 0: value");
    is_str (d.ddb[1].key, "ddb.geometry.cylinders", "ddb 1: key");
    is_str (d.ddb[1].value, "16383", "ddb 1: value");
    is_str (d.ddb[2].key, "ddb.adapterType", "ddb 2: key without blanks");
    is_str (d.ddb[2].value, "ide", "ddb 2: value");
    is_str (d.ddb[3].value, "a # inside quotes", "ddb 3: '#' inside quotes kept");
  }
  is_u64 (d.text_len, strlen (text), "the text is kept whole");
  vx_desc_free (&d);
}

static void
test_variants (void)
{
  struct descriptor d;
  struct vmdk_error err;

  is_int (parse ("version=2\nCID=0000abcd\nparentCID=12345678\n"
                 "createType=monolithicSparse\nparentFileNameHint=\"base disk.vmdk\"\n"
                 "RW 16 SPARSE \"x.vmdk\"\n", &d, &err), 0, "child descriptor parsed");
  is_u64 (d.version, 2, "version 2");
  is_u64 (d.cid, 0xabcd, "CID with leading zeros");
  is_u64 (d.parent_cid, 0x12345678, "parentCID");
  is_str (d.create_type, "monolithicSparse", "createType without quotes");
  is_str (d.parent_hint, "base disk.vmdk", "parentFileNameHint");
  vx_desc_free (&d);

  is_int (parse ("VERSION=3\ncid=FFFFFFFF\ncreatetype = \"vmfs\"\n", &d, &err), 0,
          "keys compare without case");
  is_u64 (d.version, 3, "VERSION=3");
  is_u64 (d.cid, 0xffffffff, "cid in capitals");
  is_str (d.create_type, "vmfs", "createtype = \"vmfs\"");
  is_u64 (d.n_extents, 0, "no extents");
  vx_desc_free (&d);

  is_int (parse ("version=1\nCID=123456789abc\n", &d, &err), 0, "a long CID");
  is_u64 (d.cid, 0x56789abc, "a long CID keeps the low 32 bits");
  vx_desc_free (&d);

  is_int (parse ("version=1\nisNativeSnapshot=\"no\"\nunknownKey=x\n", &d, &err), 0,
          "unknown keys ignored");
  vx_desc_free (&d);

  is_int (parse ("version=1\nRW 18446744073709551615 FLAT \"f\" 0\n", &d, &err), -1,
          "extent of 2^64 - 1 sectors refused");
  is_str (vmdk_errcode_name (err.code), "VMDK_ERR_LIMIT", "over the capacity limit");
  is_int (parse ("version=1\nRW 140737488355328 FLAT \"f\" 18446744073709551615\n",
                 &d, &err), 0, "64 PiB extent, offset 2^64 - 1");
  is_u64 (d.extents[0].offset, UINT64_MAX, "offset 2^64 - 1");
  vx_desc_free (&d);
  is_int (parse ("version=1\nRW 010 FLAT \"f\" 010\n", &d, &err), 0, "leading zeros");
  is_u64 (d.extents[0].sectors, 10, "010 sectors is ten");
  is_u64 (d.extents[0].offset, 10, "offset 010 is ten");
  vx_desc_free (&d);

  /* text ends at the first NUL */
  static const char nul[] = "version=1\nRW 1 ZERO\n\0garbage \x01\x02\n";
  memset (&err, 0, sizeof err);
  is_int (vx_desc_parse (nul, sizeof nul - 1, "t", &d, &err), 0, "text ends at a NUL");
  is_u64 (d.n_extents, 1, "nothing after the NUL read");
  is_u64 (d.text_len, 20, "text_len up to the NUL");
  vx_desc_free (&d);
}

static void
test_refused (void)
{
  char *big;

  refused ("", VMDK_ERR_FORMAT, "no version= line", "empty text");
  refused ("# only a comment\n", VMDK_ERR_FORMAT, "no version= line", "only a comment");
  refused ("createType=\"monolithicFlat\"\n", VMDK_ERR_FORMAT, "no version", "no version");
  refused ("version=4\n", VMDK_ERR_UNSUPPORTED, "version=4 is not supported", "version 4");
  refused ("version=0\n", VMDK_ERR_UNSUPPORTED, "not supported", "version 0");
  refused ("version=99999999999999999999\n", VMDK_ERR_UNSUPPORTED, "not supported",
           "a huge version");
  refused ("version=one\n", VMDK_ERR_FORMAT, "version is not a number", "version word");
  refused ("version=-1\n", VMDK_ERR_FORMAT, "version is not a number", "version -1");
  refused ("version=1\nthis is garbage\n", VMDK_ERR_FORMAT, "line 2: neither key=value",
           "a garbage line");
  refused ("version=1\n=x\n", VMDK_ERR_FORMAT, "empty key", "an empty key");
  refused ("version=1\ncreateType=\"a\" b\n", VMDK_ERR_FORMAT, "after the value",
           "text after a value");
  refused ("version=1\nencoding=\"UTF-8\n", VMDK_ERR_FORMAT, "no closing quote",
           "an unclosed quote");
  refused ("version=1\nCID=xyz\n", VMDK_ERR_FORMAT, "not a hexadecimal number", "CID xyz");
  refused ("version=1\nCID=\n", VMDK_ERR_FORMAT, "CID is empty", "empty CID");
  refused ("version=1\nCID=12345678123456781\n", VMDK_ERR_FORMAT, "too long",
           "17-digit CID");
  refused ("version=1\nRW abc FLAT \"f\"\n", VMDK_ERR_FORMAT, "extent size is not a number",
           "extent size word");
  refused ("version=1\nRW -5 FLAT \"f\"\n", VMDK_ERR_FORMAT, "not a number",
           "negative extent size");
  refused ("version=1\nRW 18446744073709551616 FLAT \"f\"\n", VMDK_ERR_FORMAT,
           "extent size is too large", "extent size 2^64");
  refused ("version=1\nRW 1 FLAT \"f\" 18446744073709551616\n", VMDK_ERR_FORMAT,
           "extent offset is too large", "extent offset 2^64");
  refused ("version=1\nRW 1 FLATTER \"f\"\n", VMDK_ERR_FORMAT, "unknown extent type",
           "unknown type");
  refused ("version=1\nRW 1 flat \"f\"\n", VMDK_ERR_FORMAT, "unknown extent type",
           "type words are case-sensitive");
  refused ("version=1\nRW 1 FLAT f\n", VMDK_ERR_FORMAT, "must be in double quotes",
           "unquoted file name");
  refused ("version=1\nRW 1 SPARSE \"\"\n", VMDK_ERR_FORMAT, "empty extent file name",
           "empty file name");
  refused ("version=1\nRW 1 SPARSE\n", VMDK_ERR_FORMAT, "double quotes",
           "SPARSE without a file");
  refused ("version=1\nkey=\x01\x02\n", VMDK_ERR_FORMAT, "control characters",
           "control characters");

  big = malloc (VMDK_MAX_DESCRIPTOR_BYTES + 2);
  if (big == NULL)
    abort ();
  memset (big, '#', VMDK_MAX_DESCRIPTOR_BYTES + 1);
  memcpy (big, "version=1\n", 10);
  for (size_t i = 100; i < VMDK_MAX_DESCRIPTOR_BYTES; i += 1000)
    big[i] = '\n';
  big[VMDK_MAX_DESCRIPTOR_BYTES + 1] = '\0';
  refused (big, VMDK_ERR_LIMIT, "more than the limit", "a descriptor over 1 MiB");
  big[VMDK_MAX_DESCRIPTOR_BYTES] = '\0';
  struct descriptor d;
  struct vmdk_error err;
  is_int (parse (big, &d, &err), 0, "a descriptor of exactly the limit");
  vx_desc_free (&d);
  memset (big, 'x', VMDK_MAX_LINE_BYTES + 20);
  memcpy (big, "version=1\nk=", 12);
  big[VMDK_MAX_LINE_BYTES + 20] = '\0';
  refused (big, VMDK_ERR_LIMIT, "line 2 is longer than", "an oversized line");
  free (big);
}

int
main (void)
{
  test_full ();
  test_variants ();
  test_refused ();
  return tap_done ();
}
