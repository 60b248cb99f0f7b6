package bench

import (
	"testing"

	"go.uber.org/goleak"
)

// Every contender is shut down at the end of its benchmark; goleak checks
// that none leaves a goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
