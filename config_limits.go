package slogotlp

import (
	"errors"
	"strconv"
)

// The attribute limit variables NewFromEnv reads: the log-record ones, and
// the general ones in their place when they are unset, as the
// OpenTelemetry specification orders them. They set
// HandlerOptions.AttributeCountLimit and AttributeValueLengthLimit when
// those are zero: a positive number is the limit, a negative one means no
// limit.
const (
	EnvAttributeCountLimit              = "OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT"
	EnvAttributeValueLengthLimit        = "OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT"
	EnvGeneralAttributeCountLimit       = "OTEL_ATTRIBUTE_COUNT_LIMIT"
	EnvGeneralAttributeValueLengthLimit = "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT"
)

// attributeLimits fills the attribute limits the caller left zero from the
// environment.
func (r *resolver) attributeLimits(o *HandlerOptions) {
	if o.AttributeCountLimit == 0 {
		o.AttributeCountLimit = r.limit(EnvAttributeCountLimit, EnvGeneralAttributeCountLimit)
	}
	if o.AttributeValueLengthLimit == 0 {
		o.AttributeValueLengthLimit = r.limit(EnvAttributeValueLengthLimit, EnvGeneralAttributeValueLengthLimit)
	}
}

// limit reads the first of names that is set: a positive limit, or -1 for
// a negative number (no limit); unset is 0, the option's default. Zero is
// refused: the SDKs read it as "keep no attribute" (or no character), which
// a zero option cannot say, and it is far likelier a mistake.
func (r *resolver) limit(names ...string) int {
	v, name := r.firstEnv(names...)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n == 0 {
		r.fail(name, errors.New("want a whole number: a positive limit, or -1 for no limit"))
		return 0
	}
	return max(n, -1)
}
