package chunk

import (
	"fmt"
	"strconv"
)

// PathDigits is the width of a chunk's ordinal in its materialized path.
// chunks.ordinal is a Postgres int (0 to 2,147,483,647: at most 10
// digits), so zero-padding to 10 digits gives every storable ordinal the
// same width, and equal-width digit strings sort as their numbers do:
// a version's chunk paths sort in chunk order, for any ordinal. (Message
// sequence numbers use the same width.)
const PathDigits = 10

// Path is the materialized path of chunk ordinal (0 to
// 2,147,483,647) of the version at versionPath. Chunks have no
// path_parts rows; their path is computed, here in Go and by PathSQL in
// SQL, with the same result.
func Path(versionPath string, ordinal int) string {
	return fmt.Sprintf("%s/%0*d", versionPath, PathDigits, ordinal)
}

// PathSQL is the SQL expression of Path over the SQL expressions
// versionPath (text) and ordinal (int), for example
// PathSQL("vp.path", "c.ordinal"). Its arguments are SQL, never user
// input.
func PathSQL(versionPath, ordinal string) string {
	return "(" + versionPath + " || '/' || lpad(" + ordinal + "::text, " + strconv.Itoa(PathDigits) + ", '0'))"
}
