/* vixmount VMDK engine: the write path (being implemented). */
#include "internal.h"

int vmdk_pwrite (struct vmdk_disk *d, const void *b, size_t c, uint64_t o, unsigned f,
                 struct vmdk_error *err)
{ (void) d; (void) b; (void) c; (void) o; (void) f;
  vx_err (err, VMDK_ERR_READONLY, "writing is not implemented yet"); return -1; }
int vmdk_zero (struct vmdk_disk *d, uint64_t c, uint64_t o, unsigned f, struct vmdk_error *err)
{ (void) d; (void) c; (void) o; (void) f;
  vx_err (err, VMDK_ERR_READONLY, "writing is not implemented yet"); return -1; }
int vmdk_trim (struct vmdk_disk *d, uint64_t c, uint64_t o, unsigned f, struct vmdk_error *err)
{ (void) d; (void) c; (void) o; (void) f;
  vx_err (err, VMDK_ERR_READONLY, "writing is not implemented yet"); return -1; }
int vmdk_flush (struct vmdk_disk *d, struct vmdk_error *err) { (void) d; (void) err; return 0; }
bool vmdk_is_writable (const struct vmdk_disk *d) { (void) d; return false; }
int vmdk_create (const char *p, const struct vmdk_create_params *c, struct vmdk_error *err)
{ (void) c; vx_err (err, VMDK_ERR_UNSUPPORTED, "%s: creating is not implemented yet", p); return -1; }
int vmdk_create_child (const char *p, const char *pp, const struct vmdk_create_params *c,
                       struct vmdk_error *err)
{ (void) pp; (void) c; vx_err (err, VMDK_ERR_UNSUPPORTED, "%s: creating is not implemented yet", p); return -1; }
int vmdk_clone (struct vmdk_disk *s, const char *p, const struct vmdk_create_params *c,
                vmdk_progress_cb cb, void *o, struct vmdk_error *err)
{ (void) s; (void) c; (void) cb; (void) o;
  vx_err (err, VMDK_ERR_UNSUPPORTED, "%s: cloning is not implemented yet", p); return -1; }
int vmdk_ddb_set (struct vmdk_disk *d, const char *k, const char *v, struct vmdk_error *err)
{ (void) d; (void) k; (void) v; vx_err (err, VMDK_ERR_READONLY, "not implemented yet"); return -1; }
size_t vmdk_file_count (const struct vmdk_disk *d) { (void) d; return 0; }
const char *vmdk_file_path (const struct vmdk_disk *d, size_t i) { (void) d; (void) i; return NULL; }
