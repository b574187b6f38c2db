/* cli: what the VMDK engine reads from a disk, as text or JSON (vmdkinfo.h). */
#include <inttypes.h>
#include <stdio.h>

#include "json.h"
#include "vmdkinfo.h"

const char *
vx_jbool (bool b)
{
  return b ? "true" : "false";
}

void
vx_info_json (struct vmdk_disk *d, FILE *f, int indent)
{
  const struct vmdk_info *i = vmdk_get_info (d);
  struct vmdk_disk *parent = vmdk_parent (d);

  fprintf (f, "{\"path\": ");
  vx_json_string (f, i->path);
  fprintf (f, ", \"createType\": ");
  vx_json_string (f, i->create_type);
  fprintf (f, ", \"version\": %u, \"encoding\": ", i->version);
  vx_json_string (f, i->encoding);
  fprintf (f, ", \"hasDescriptor\": %s, \"embeddedDescriptor\": %s",
           vx_jbool (i->has_descriptor), vx_jbool (i->embedded_descriptor));
  if (i->has_cid)
    fprintf (f, ", \"cid\": \"%08" PRIx32 "\"", i->cid);
  else
    fprintf (f, ", \"cid\": null");
  fprintf (f, ", \"parentCID\": \"%08" PRIx32 "\", \"parentHint\": ", i->parent_cid);
  vx_json_string (f, i->parent_hint);
  fprintf (f, ", \"capacity\": %" PRIu64 ", \"size\": %" PRIu64
           ", \"links\": %u, \"grainSectors\": %" PRIu64 ", \"uncleanShutdown\": %s",
           i->capacity, vmdk_size (d), i->num_links, i->grain_sectors,
           vx_jbool (i->unclean_shutdown));
  fprintf (f, ",\n%*s\"extents\": [", indent + 1, "");
  for (size_t k = 0; k < i->num_extents; k++) {
    const struct vmdk_extent_info *e = vmdk_get_extent (d, k);
    fprintf (f, "%s\n%*s{\"access\": \"%s\", \"type\": \"%s\", \"start\": %" PRIu64
             ", \"sectors\": %" PRIu64 ", \"filename\": ", k ? "," : "", indent + 2, "",
             vmdk_access_name (e->access), vmdk_extent_type_name (e->type), e->start,
             e->sectors);
    vx_json_string (f, e->filename);
    fprintf (f, ", \"path\": ");
    vx_json_string (f, e->path);
    fprintf (f, ", \"offset\": %" PRIu64 ", \"fileBytes\": %" PRIu64, e->flat_offset,
             e->file_bytes);
    if (e->grain_sectors)
      fprintf (f, ", \"version\": %u, \"flags\": %" PRIu32 ", \"grainSectors\": %" PRIu64
               ", \"gtesPerGT\": %" PRIu32 ", \"gdOffset\": %" PRIu64
               ", \"rgdOffset\": %" PRIu64 ", \"overhead\": %" PRIu64
               ", \"gdEntries\": %" PRIu64 ", \"compressed\": %s, \"zeroedGTE\": %s"
               ", \"gdAtEnd\": %s, \"redundantGDUsed\": %s, \"uncleanShutdown\": %s",
               e->version, e->flags, e->grain_sectors, e->gtes_per_gt, e->gd_offset,
               e->rgd_offset, e->overhead, e->gd_entries, vx_jbool (e->compressed),
               vx_jbool (e->zeroed_gte), vx_jbool (e->gd_at_end), vx_jbool (e->redundant_gd_used),
               vx_jbool (e->unclean_shutdown));
    fputc ('}', f);
  }
  fprintf (f, "],\n%*s\"ddb\": {", indent + 1, "");
  for (size_t k = 0; k < vmdk_ddb_count (d); k++) {
    fputs (k ? ", " : "", f);
    vx_json_string (f, vmdk_ddb_key (d, k));
    fputs (": ", f);
    vx_json_string (f, vmdk_ddb_value (d, k));
  }
  fprintf (f, "},\n%*s\"warnings\": [", indent + 1, "");
  for (size_t k = 0; k < i->num_warnings; k++) {
    fputs (k ? ", " : "", f);
    vx_json_string (f, vmdk_warning (d, k));
  }
  fprintf (f, "],\n%*s\"parent\": ", indent + 1, "");
  if (parent)
    vx_info_json (parent, f, indent + 1);
  else
    fputs ("null", f);
  fputc ('}', f);
}

struct alloc_totals { uint64_t data, zero, hole; };

static int
count_cb (void *opaque, const struct vmdk_map_entry *e)
{
  struct alloc_totals *t = opaque;
  switch (e->kind) {
  case VMDK_MAP_DATA: t->data += e->length; break;
  case VMDK_MAP_ZERO: t->zero += e->length; break;
  case VMDK_MAP_HOLE: t->hole += e->length; break;
  }
  return 0;
}

int
vx_info_text (struct vmdk_disk *d, FILE *f, struct vmdk_error *err)
{

  for (unsigned link = 0; d; d = vmdk_parent (d), link++) {
    const struct vmdk_info *i = vmdk_get_info (d);
    struct alloc_totals t = { 0 };

    if (vmdk_map (d, 0, vmdk_size (d), VMDK_MAP_THIS_LAYER, count_cb, &t, err) == -1)
      return -1;
    fprintf (f, "%s%s\n", link ? "\nparent link " : "", i->path);
    if (link)
      fprintf (f, "  link:             %u below the disk opened\n", link);
    fprintf (f, "  createType:       %s%s\n", i->create_type,
             !i->has_descriptor ? " (bare extent, no descriptor)"
             : i->embedded_descriptor ? " (embedded descriptor)" : "");
    fprintf (f, "  capacity:         %" PRIu64 " sectors (%" PRIu64 " bytes)\n",
             i->capacity, vmdk_size (d));
    if (i->has_cid)
      fprintf (f, "  CID:              %08" PRIx32 "\n", i->cid);
    if (i->parent_hint)
      fprintf (f, "  parent:           %s (parentCID %08" PRIx32 ")\n", i->parent_hint,
               i->parent_cid);
    if (i->grain_sectors)
      fprintf (f, "  grain:            %" PRIu64 " sectors\n", i->grain_sectors);
    fprintf (f, "  unclean shutdown: %s\n", i->unclean_shutdown ? "yes" : "no");
    fprintf (f, "  allocation:       %" PRIu64 " bytes data, %" PRIu64
             " bytes zero, %" PRIu64 " bytes unallocated in this link\n",
             t.data, t.zero, t.hole);
    fprintf (f, "  extents:\n");
    for (size_t k = 0; k < i->num_extents; k++) {
      const struct vmdk_extent_info *e = vmdk_get_extent (d, k);
      fprintf (f, "    %-8s %-10s %12" PRIu64 " sectors at %-12" PRIu64 " %s",
               vmdk_access_name (e->access), vmdk_extent_type_name (e->type),
               e->sectors, e->start, e->filename ? e->filename : "");
      if (e->grain_sectors)
        fprintf (f, " (v%u, flags %#" PRIx32 "%s%s%s%s)", e->version, e->flags,
                 e->compressed ? ", compressed" : "", e->zeroed_gte ? ", zeroed-grain" : "",
                 e->gd_at_end ? ", GD at end" : "",
                 e->redundant_gd_used ? ", redundant GD used" : "");
      else if (e->type != VMDK_EXTENT_ZERO)
        fprintf (f, " (offset %" PRIu64 ")", e->flat_offset);
      fputc ('\n', f);
    }
    if (vmdk_ddb_count (d)) {
      fprintf (f, "  disk database:\n");
      for (size_t k = 0; k < vmdk_ddb_count (d); k++)
        fprintf (f, "    %s = %s\n", vmdk_ddb_key (d, k), vmdk_ddb_value (d, k));
    }
    for (size_t k = 0; k < i->num_warnings; k++)
      fprintf (f, "  warning: %s\n", vmdk_warning (d, k));
  }
  return 0;
}
