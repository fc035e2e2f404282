package report

import (
	"fmt"
	"io"

	"github.com/imload/imload/internal/atomicfile"
)

// writeFileAtomic writes what write produces to path atomically (see
// atomicfile.Write: a device such as /dev/null is written in place).
func writeFileAtomic(path string, write func(w io.Writer) error) error {
	if err := atomicfile.Write(path, write); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}
