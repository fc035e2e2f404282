// Package archtest holds one test: that every package of imload imports only
// the packages of imload that docs/ARCHITECTURE.md allows it. It has no code
// of its own.
package archtest
