/* tests/unit/test-byteorder: little- and big-endian readers and writers
 * (common/utils/byteorder.h), at odd alignments too. */
#include <stdint.h>
#include <string.h>

#include "byteorder.h"
#include "tap.h"

int
main (void)
{
  static const uint8_t bytes[] = { 0xaa, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
                                   0x07, 0x08, 0xff, 0xfe, 0xfd, 0xfc, 0xfb,
                                   0xfa, 0xf9, 0xf8 };
  uint8_t buf[19];

  is_u64 (le16 (bytes + 1), 0x0201, "le16 at an odd address");
  is_u64 (le32 (bytes + 1), 0x04030201, "le32 at an odd address");
  is_u64 (le64 (bytes + 1), UINT64_C (0x0807060504030201), "le64 at an odd address");
  is_u64 (le16 (bytes + 9), 0xfeff, "le16 high bits");
  is_u64 (le32 (bytes + 9), 0xfcfdfeff, "le32 high bits (no sign extension)");
  is_u64 (le64 (bytes + 9), UINT64_C (0xf8f9fafbfcfdfeff), "le64 high bits");

  memset (buf, 0x55, sizeof buf);
  put_le16 (buf + 1, 0xbeef);
  ok (buf[0] == 0x55 && buf[1] == 0xef && buf[2] == 0xbe && buf[3] == 0x55,
      "put_le16 writes two bytes, low first");
  put_le32 (buf + 3, 0xdeadbeef);
  ok (buf[3] == 0xef && buf[4] == 0xbe && buf[5] == 0xad && buf[6] == 0xde
      && buf[7] == 0x55, "put_le32 writes four bytes, low first");
  put_le64 (buf + 7, UINT64_C (0x0123456789abcdef));
  ok (memcmp (buf + 7, "\xef\xcd\xab\x89\x67\x45\x23\x01", 8) == 0 && buf[15] == 0x55,
      "put_le64 writes eight bytes, low first");
  is_u64 (le16 (buf + 1), 0xbeef, "le16 reads back put_le16");
  is_u64 (le32 (buf + 3), 0xdeadbeef, "le32 reads back put_le32");
  is_u64 (le64 (buf + 7), UINT64_C (0x0123456789abcdef), "le64 reads back put_le64");
  put_le64 (buf + 8, UINT64_MAX);
  is_u64 (le64 (buf + 8), UINT64_MAX, "all ones round trip");
  put_le32 (buf, 0);
  is_u64 (le32 (buf), 0, "zero round trip");

  /* big-endian: the NBD protocol's order */
  is_u64 (be16 (bytes + 1), 0x0102, "be16 at an odd address");
  is_u64 (be32 (bytes + 1), 0x01020304, "be32 at an odd address");
  is_u64 (be64 (bytes + 1), UINT64_C (0x0102030405060708), "be64 at an odd address");
  is_u64 (be32 (bytes + 9), 0xfffefdfc, "be32 high bits (no sign extension)");
  is_u64 (be64 (bytes + 9), UINT64_C (0xfffefdfcfbfaf9f8), "be64 high bits");
  memset (buf, 0x55, sizeof buf);
  put_be16 (buf + 1, 0xbeef);
  ok (buf[0] == 0x55 && buf[1] == 0xbe && buf[2] == 0xef && buf[3] == 0x55,
      "put_be16 writes two bytes, high first");
  put_be32 (buf + 3, 0xdeadbeef);
  ok (memcmp (buf + 3, "\xde\xad\xbe\xef", 4) == 0 && buf[7] == 0x55,
      "put_be32 writes four bytes, high first");
  put_be64 (buf + 7, UINT64_C (0x0123456789abcdef));
  ok (memcmp (buf + 7, "\x01\x23\x45\x67\x89\xab\xcd\xef", 8) == 0 && buf[15] == 0x55,
      "put_be64 writes eight bytes, high first");
  is_u64 (be64 (buf + 7), UINT64_C (0x0123456789abcdef), "be64 reads back put_be64");
  put_be64 (buf + 8, UINT64_MAX);
  is_u64 (be64 (buf + 8), UINT64_MAX, "be all ones round trip");
  return tap_done ();
}
