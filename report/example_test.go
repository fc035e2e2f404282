package report_test

import (
	"bufio"
	"bytes"
	"fmt"
	"log"

	"github.com/imload/imload/report"
	"github.com/imload/imload/results"
)

// The per-second series of a results file as CSV: one row per second and
// operation.
func ExampleWriteCSV() {
	f, err := results.ReadFile("testdata/synthetic.json")
	if err != nil {
		log.Fatal(err)
	}
	var buf bytes.Buffer
	if err := report.WriteCSV(&buf, f.Metrics); err != nil {
		log.Fatal(err)
	}
	sc := bufio.NewScanner(&buf)
	for i := 0; i < 3 && sc.Scan(); i++ {
		fmt.Println(sc.Text())
	}
	// Output:
	// second,op,attempted,ok,failed,timed_out,p50_ms,p99_ms,max_ms,online,cancelled
	// 0,connect,50,50,0,0,,,16.971,15,0
	// 0,login,48,44,4,0,6.207,39.519,39.519,15,0
}
