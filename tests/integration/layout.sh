#!/bin/bash
# layout.sh: the tree's layout rules (tests/lib/layout.py): every C file in a
# part, no include cycle, parts include and call only the parts below them,
# no global symbol defined in two parts.  Needs no root.
. "$top_srcdir/tests/lib/common.sh"
need python3 nm
python3 "$top_srcdir/tests/lib/layout.py" "$top_srcdir" "$top_builddir"
