package results

import "github.com/imload/imload/codes"

// CodeText says what an error code means (the catalogue of package codes);
// "" for a code it does not know. Code 0 on a failed operation means the
// transport failed before any answer.
func CodeText(code int) string {
	if code == codes.OK {
		return "failed without a code (transport error)"
	}
	return codes.Text(code)
}
