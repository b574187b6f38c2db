# tests/lib/mntapi-env.sh: the working directory of a test that drives
# libvixMntapi (source after common.sh): d, its scratch directory, is the
# current directory; rt/ is the sets' tmpDirectory, named by ./vix.conf
# (MNTAPI_CONFIG, which tests/mntapi-client reads); in a sanitizer build the
# nbdkit the library starts gets the sanitizer's environment (plugin.sh).
d=$(scratch)
cd "$d" || bail "cd $d"
. "$top_srcdir/tests/lib/plugin.sh"
nbdkit_wrap "$d"
mkdir rt
printf 'tmpDirectory = "%s/rt"\n' "$d" > vix.conf
export MNTAPI_CONFIG=$d/vix.conf
