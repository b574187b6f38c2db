/* vixmount: basic types used by vixDiskLib.h and vixMntapi.h.
 *
 * Written for vixmount from the published facts about VMware's
 * vm_basic_types.h (type names, sizes and printf helpers that clients of
 * the VixDiskLib/VixMntapi API use).  Only the subset those clients need is
 * provided.  Linux (LP64 and ILP32) with GCC or Clang.
 */
#ifndef _VM_BASIC_TYPES_H_
#define _VM_BASIC_TYPES_H_

#include <stddef.h>
#include <stdint.h>

/* Fixed-size integers (the API's uint8 buffers, uint32 flags, uint64
 * sector numbers). */
typedef uint8_t  uint8;
typedef int8_t   int8;
typedef uint16_t uint16;
typedef int16_t  int16;
typedef uint32_t uint32;
typedef int32_t  int32;
typedef uint64_t uint64;
typedef int64_t  int64;

/* Bool is one byte, as in VMware's headers (not C99 bool, not int). */
typedef char Bool;

#ifndef FALSE
#define FALSE 0
#endif
#ifndef TRUE
#define TRUE 1
#endif

/* printf length modifiers: "%" FMT64 "u" prints a uint64, "%" FMTSZ "u" a
 * size_t. */
#ifndef FMT64
#  if defined(__LP64__) || defined(_LP64)
#    define FMT64 "l"
#  else
#    define FMT64 "ll"
#  endif
#endif
#ifndef FMTSZ
#  define FMTSZ "z"
#endif

#endif /* _VM_BASIC_TYPES_H_ */
