//go:build !js

package slogotlp

import "errors"

// resolveEndpoint turns a relative endpoint such as "/api/v1/telemetry/logs"
// into an absolute URL. Only a page in the browser has a base to resolve
// against (its location), so outside GOOS=js a relative endpoint is a
// configuration mistake; the js build resolves it against location.href.
func resolveEndpoint(string) (string, error) {
	return "", errors.New("slogotlp: the endpoint is a relative URL, which only works in the browser (GOOS=js); " +
		"pass an absolute http:// or https:// URL such as http://localhost:4318/v1/logs")
}
