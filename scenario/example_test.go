package scenario_test

import (
	"fmt"

	"github.com/imload/imload/scenario"
)

func ExampleParse() {
	src := []byte(`
population:
  users: 100
phases:
  - model: open
    duration: 10s
    rate: -5
behaviour:
  hold: {dist: uniform, min: 5s, max: 1s}
`)
	_, err := scenario.Parse(src, "quick.yaml")
	fmt.Println(err)
	// Output:
	// quick.yaml:7:11: phases[0].rate: must be >= 0, got -5
	// quick.yaml:9:39: behaviour.hold.max: must be >= min (5s), got 1s
}

func ExampleParseThreshold() {
	t, err := scenario.ParseThreshold("login.p99 < 250ms")
	if err != nil {
		panic(err)
	}
	fmt.Println(t.Metric, t.Op, t.Value, t.Kind, t.Eval(0.180))
	_, err = scenario.ParseThreshold("login.p99 < 0.25")
	fmt.Println(err)
	// Output:
	// login.p99 < 0.25 duration true
	// col 13: expected a duration like 250ms for p99, got "0.25"
}
