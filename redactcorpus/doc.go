// Package redactcorpus holds no code: its test measures slogotlp's
// redactor against examples nobody in this project wrote, the true- and
// false-positive examples that the gitleaks project keeps beside each of its
// secret-detection rules, and a corpus of ordinary strings (Go's own
// standard library literals, go.sum lines, and common log shapes).
//
// It is a module of its own so the library does not depend on gitleaks.
// Run it with go test -v to print the recall and false-positive table.
package redactcorpus
