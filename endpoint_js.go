//go:build js

package slogotlp

import (
	"errors"
	"fmt"
	"syscall/js"
)

// resolveEndpoint resolves a relative endpoint such as
// "/api/v1/telemetry/logs" against the page's location, as fetch would, so a
// browser build posts to the relay that served it.
func resolveEndpoint(rel string) (abs string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("slogotlp: resolving %q against the page location: %v", rel, r)
		}
	}()
	loc := js.Global().Get("location")
	if loc.IsUndefined() || loc.IsNull() {
		return "", errors.New("slogotlp: a relative endpoint needs a page location to resolve against (there is none outside a browser); pass an absolute URL")
	}
	return js.Global().Get("URL").New(rel, loc.Get("href")).Get("href").String(), nil
}
