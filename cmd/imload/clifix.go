package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

// flagError rewrites a flag that does not parse into what the flag wants,
// without Go's parser in it ("--seed: "abc" is not a whole number" rather
// than strconv.ParseInt's message), and points at --help; exit 2.
func flagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	var num *strconv.NumError
	if errors.As(err, &num) {
		// pflag: invalid argument "abc" for "--seed" flag: strconv.ParseInt: ...
		name := ""
		if _, rest, ok := strings.Cut(msg, " for \""); ok {
			name, _, _ = strings.Cut(rest, "\"")
		}
		want := "a number"
		switch num.Func {
		case "ParseInt", "ParseUint":
			want = "a whole number"
		case "ParseBool":
			want = "true or false"
		}
		if errors.Is(num.Err, strconv.ErrRange) {
			want += " in range"
		}
		msg = fmt.Sprintf("%s: %q is not %s", name, num.Num, want)
	}
	return withCode(exitBadInput, fmt.Errorf("%s\nsee: %s --help", msg, cmd.CommandPath()))
}

// exactlyOneFile is the argument check of a command that takes one file: a
// missing or extra argument names the usage and an example.
func exactlyOneFile(example string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == 1 {
			return nil
		}
		what := "no file given"
		if len(args) > 1 {
			what = fmt.Sprintf("%d arguments given", len(args))
		}
		return withCode(exitBadInput, fmt.Errorf("%s: usage: %s\n  e.g. %s", what, cmd.UseLine(), example))
	}
}

// outputDir checks that the directory of an output file exists, so that
// the error names the path asked for, not a temporary file beside it.
func outputDir(flag, path string) error {
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	switch {
	case err != nil:
		return withCode(exitBadInput, fmt.Errorf("%s %s: directory %s does not exist", flag, path, dir))
	case !st.IsDir():
		return withCode(exitBadInput, fmt.Errorf("%s %s: %s is not a directory", flag, path, dir))
	}
	return nil
}
