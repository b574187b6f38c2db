/* cli: what the VMDK engine reads from a disk, as text or JSON: shared by
 * `vixmount-vmdk info` and `vixmount info`. */
#ifndef VIXMOUNT_CLI_VMDKINFO_H
#define VIXMOUNT_CLI_VMDKINFO_H

#include <stdbool.h>
#include <stdio.h>

#include "vmdk.h"

/* "true" / "false" */
const char *vx_jbool (bool b);

/* The disk and each link below it (format, capacity, CID, extents, disk
 * database, allocation of each link, warnings), for a person.  Returns 0,
 * or -1 with *err set (the allocation map could not be read). */
int vx_info_text (struct vmdk_disk *d, FILE *f, struct vmdk_error *err);

/* The same as one JSON object (its parent link nested in "parent");
 * INDENT: the column the object starts at. */
void vx_info_json (struct vmdk_disk *d, FILE *f, int indent);

#endif
