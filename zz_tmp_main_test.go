package slogotlp

import (
	"testing"

	"go.uber.org/goleak"
)

// Temporary until the lead's handler_test.go brings goleak.VerifyTestMain.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
