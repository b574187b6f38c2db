/* libvixDiskLib: connections and connection parameters.
 *
 * Only local connections exist: NULL parameters, or parameters whose
 * serverName is NULL or empty.  Anything naming a server is refused with
 * VIX_E_NOT_SUPPORTED.  Only the first 72 bytes of a caller's
 * VixDiskLibConnectParams are ever read (older clients pass structs of 72
 * or 80 bytes), except for structs that came from
 * VixDiskLib_AllocateConnectParams.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Params structs we allocated: who owns the member strings. */
struct params_rec {
  struct params_rec *next;
  VixDiskLibConnectParams *p;
  bool lib_owns_strings;      /* GetConnectParams: we strdup'ed them */
};
static pthread_mutex_t params_lock = PTHREAD_MUTEX_INITIALIZER;
static struct params_rec *params_list;

static bool
params_register (VixDiskLibConnectParams *p, bool lib_owns)
{
  struct params_rec *r = malloc (sizeof *r);

  if (!r)
    return false;
  r->p = p;
  r->lib_owns_strings = lib_owns;
  pthread_mutex_lock (&params_lock);
  r->next = params_list;
  params_list = r;
  pthread_mutex_unlock (&params_lock);
  return true;
}

/* Remove P from the list; returns 0 not ours, 1 caller owns strings,
 * 2 we own them. */
static int
params_unregister (VixDiskLibConnectParams *p)
{
  int ret = 0;

  pthread_mutex_lock (&params_lock);
  for (struct params_rec **pp = &params_list; *pp; pp = &(*pp)->next)
    if ((*pp)->p == p) {
      struct params_rec *r = *pp;
      *pp = r->next;
      ret = r->lib_owns_strings ? 2 : 1;
      free (r);
      break;
    }
  pthread_mutex_unlock (&params_lock);
  return ret;
}

static bool
is_remote (const VixDiskLibConnectParams *p)
{
  return p && p->serverName && p->serverName[0];
}

static void
free_strings (VixDiskLibConnectParams *p)
{
  free (p->vmxSpec);
  free (p->serverName);
  free (p->thumbPrint);
  if (p->credType == VIXDISKLIB_CRED_UID) {
    free (p->creds.uid.userName);
    free (p->creds.uid.password);
  }
  else if (p->credType == VIXDISKLIB_CRED_SESSIONID) {
    free (p->creds.sessionId.cookie);
    free (p->creds.sessionId.userName);
    free (p->creds.sessionId.key);
  }
}

/* Deep copy of the fields of a local connection worth keeping (vmxSpec and
 * the identity strings are kept so GetConnectParams can return them). */
static VixDiskLibConnectParams *
copy_params (const VixDiskLibConnectParams *src)
{
  VixDiskLibConnectParams *p = calloc (1, sizeof *p);
  bool ok = true;

  if (!p)
    return NULL;
  p->specType = VIXDISKLIB_SPEC_VMX;
  if (!src)
    return p;
#define DUP(field) \
  do { if (src->field && !(p->field = strdup (src->field))) ok = false; } while (0)
  DUP (vmxSpec);
  DUP (thumbPrint);
  p->privateUse = src->privateUse;
  p->credType = src->credType;
  if (src->credType == VIXDISKLIB_CRED_UID) {
    DUP (creds.uid.userName);
    DUP (creds.uid.password);
  }
  else if (src->credType == VIXDISKLIB_CRED_SESSIONID) {
    DUP (creds.sessionId.cookie);
    DUP (creds.sessionId.userName);
    DUP (creds.sessionId.key);
  }
  p->port = src->port;
  p->nfcHostPort = src->nfcHostPort;
#undef DUP
  if (!ok) {
    free_strings (p);
    free (p);
    return NULL;
  }
  return p;
}

void
vx_conn_destroy (struct vx_conn *c)
{
  if (!c)
    return;
  vx_handle_free (c->tok);
  if (c->params) {
    free_strings (c->params);
    free (c->params);
  }
  free (c);
}

VX_API VixError
VixDiskLib_ConnectEx (const VixDiskLibConnectParams *connectParams,
                      Bool readOnly, const char *snapshotRef,
                      const char *transportModes,
                      VixDiskLibConnection *connection)
{
  struct vx_conn *c;
  VixError err;

  if (connection)
    *connection = NULL;
  if ((err = vx_require_init ("ConnectEx")) != VIX_OK)
    return err;
  if (!connection)
    return vx_fail (VIX_E_INVALID_ARG, "ConnectEx: connection is NULL");
  if (is_remote (connectParams))
    return vx_fail_at (VX_AUDIT, VIX_E_NOT_SUPPORTED,
                       "ConnectEx: server \"%s\": remote connections (vCenter, "
                       "ESXi) are not supported by this library; it opens "
                       "local files only", connectParams->serverName);
  if (connectParams && connectParams->vmxSpec && connectParams->vmxSpec[0])
    vx_log (VX_VERBOSE, "ConnectEx: vmxSpec \"%s\" ignored for a local "
            "connection", connectParams->vmxSpec);
  if (snapshotRef)
    vx_log (VX_VERBOSE, "ConnectEx: snapshot \"%s\" ignored for a local "
            "connection", snapshotRef);
  if (transportModes && !strstr (transportModes, "file"))
    vx_log (VX_AUDIT, "ConnectEx: transport modes \"%s\" do not include "
            "\"file\"; local disks are always opened with \"file\"",
            transportModes);

  c = calloc (1, sizeof *c);
  if (!c)
    return vx_fail (VIX_E_OUT_OF_MEMORY, "ConnectEx: out of memory");
  c->readonly = readOnly != 0;
  c->params = copy_params (connectParams);
  if (!c->params) {
    free (c);
    return vx_fail (VIX_E_OUT_OF_MEMORY, "ConnectEx: out of memory");
  }
  pthread_mutex_lock (&vx_big_lock);
  c->tok = vx_handle_new (VX_KIND_CONN, c);
  pthread_mutex_unlock (&vx_big_lock);
  if (!c->tok) {
    vx_conn_destroy (c);
    return vx_fail (VIX_E_OUT_OF_MEMORY, "ConnectEx: out of memory");
  }
  *connection = (VixDiskLibConnection) c->tok;
  vx_log (VX_INFO, "ConnectEx: local connection%s", c->readonly ?
          " (read-only)" : "");
  return VIX_OK;
}

VX_API VixError
VixDiskLib_Connect (const VixDiskLibConnectParams *connectParams,
                    VixDiskLibConnection *connection)
{
  return VixDiskLib_ConnectEx (connectParams, FALSE, NULL, NULL, connection);
}

VX_API VixError
VixDiskLib_Disconnect (VixDiskLibConnection connection)
{
  struct vx_conn *c;
  VixError err;

  pthread_mutex_lock (&vx_big_lock);
  c = vx_handle_retire (connection, VX_KIND_CONN, &err);
  if (!c) {
    pthread_mutex_unlock (&vx_big_lock);
    return vx_fail (err, "Disconnect: %s connection handle",
                    connection ? "invalid or already disconnected" : "NULL");
  }
  /* The guide: disconnecting invalidates the disks opened through it. */
  vx_close_disks_of (c);
  vx_conn_destroy (c);
  pthread_mutex_unlock (&vx_big_lock);
  vx_log (VX_INFO, "Disconnect: done");
  return VIX_OK;
}

static VixError
access_call (const char *fn, const VixDiskLibConnectParams *p,
             const char *identity)
{
  if (is_remote (p))
    return vx_fail_at (VX_AUDIT, VIX_E_NOT_SUPPORTED,
                       "%s: server \"%s\": only vCenter can block or allow "
                       "storage migration; remote connections are not "
                       "supported", fn, p->serverName);
  vx_log (VX_VERBOSE, "%s(%s): nothing to do for local disks", fn,
          identity ? identity : "(null)");
  return VIX_OK;
}

VX_API VixError
VixDiskLib_PrepareForAccess (const VixDiskLibConnectParams *connectParams,
                             const char *identity)
{
  return access_call ("PrepareForAccess", connectParams, identity);
}

VX_API VixError
VixDiskLib_EndAccess (const VixDiskLibConnectParams *connectParams,
                      const char *identity)
{
  return access_call ("EndAccess", connectParams, identity);
}

VX_API VixDiskLibConnectParams *
VixDiskLib_AllocateConnectParams (void)
{
  VixDiskLibConnectParams *p = calloc (1, sizeof *p);

  if (!p)
    return NULL;
  p->specType = VIXDISKLIB_SPEC_VMX;
  if (!params_register (p, false)) {
    free (p);
    return NULL;
  }
  return p;
}

VX_API VixError
VixDiskLib_GetConnectParams (const VixDiskLibConnection connection,
                             VixDiskLibConnectParams **connectParams)
{
  struct vx_conn *c;
  VixDiskLibConnectParams *p;
  VixError err;

  if (connectParams)
    *connectParams = NULL;
  c = vx_handle_get (connection, VX_KIND_CONN, &err);
  if (!c)
    return vx_fail (err, "GetConnectParams: %s connection handle",
                    connection ? "invalid" : "NULL");
  if (!connectParams) {
    vx_handle_put (c->tok);
    return vx_fail (VIX_E_INVALID_ARG, "GetConnectParams: connectParams is NULL");
  }
  p = copy_params (c->params);
  vx_handle_put (c->tok);
  if (!p || !params_register (p, true)) {
    if (p) {
      free_strings (p);
      free (p);
    }
    return vx_fail (VIX_E_OUT_OF_MEMORY, "GetConnectParams: out of memory");
  }
  *connectParams = p;
  return VIX_OK;
}

VX_API void
VixDiskLib_FreeConnectParams (VixDiskLibConnectParams *connectParams)
{
  if (!connectParams)
    return;
  switch (params_unregister (connectParams)) {
  case 2:
    free_strings (connectParams);
    /* fallthrough */
  case 1:
    free (connectParams);
    break;
  default:
    /* Not from AllocateConnectParams/GetConnectParams: freeing it could
     * corrupt the caller's heap (or stack). */
    vx_log (VX_WARNING, "FreeConnectParams: %p was not allocated by this "
            "library; not freed", (void *) connectParams);
  }
}
