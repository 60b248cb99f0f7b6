//go:build !js

package main

import (
	"fmt"
	"os"
)

// main explains how to run the example when it is built for the host by
// mistake (go run . instead of the server).
func main() {
	fmt.Fprintln(os.Stderr, "this program runs in the browser: build it with GOOS=js GOARCH=wasm, "+
		"or run the example with: go run ./server")
	os.Exit(2)
}
