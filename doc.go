// Package slogotlp is an [slog.Handler] that ships every log record to
// Pydantic Logfire, or to any OTLP/HTTP endpoint (an OpenTelemetry
// Collector, Grafana, Honeycomb), as OTLP over HTTP (protobuf, or JSON).
//
// Records are encoded once, on the caller's goroutine, into pooled buffers
// and queued in memory; background goroutines of the handler batch them,
// export them through an [Exporter], retry with backoff, tell OnError (by
// default stderr) of every failure, and count every record they could not
// deliver (see [Handler.Stats]). Logging never waits on the network, unless
// asked to wait for room in a full queue ([OverflowBlock]).
//
// # Entry points
//
// A service usually starts with [NewFromEnv], which builds the handler from a
// [Config] and the environment (LOGFIRE_TOKEN, the standard
// OTEL_EXPORTER_OTLP_* variables), and with [Handler.NotifyShutdown], which
// flushes what is queued when the program ends or is stopped. This is all a
// command-line tool or a service writes:
//
//	h, err := slogotlp.NewFromEnv(&slogotlp.Config{ServiceName: "checkout"})
//	if err != nil {
//		log.Fatal(err) // names the bad variable
//	}
//	ctx, shutdown := h.NotifyShutdown(5 * time.Second)
//	defer shutdown() // delivers what is queued within 5s; says on stderr what was lost
//	slog.SetDefault(slog.New(h))
//	run(ctx) // the program's work; ctx ends on SIGINT/SIGTERM
//
// The deferred shutdown returns within its 5 seconds whatever the network
// does (it does not wait at all for a receiver it cannot reach), and a
// program whose run never looks at ctx still exits on the first signal.
//
// The other entry points:
//
//   - [NewHandler] takes an [Exporter] chosen in code: [NewLogfireExporter]
//     (Pydantic Logfire, with the write token), [NewHTTPExporter] (any
//     OTLP/HTTP receiver), [NewProxyExporter] (the relay, for programs that
//     must not hold the write token), [NewConsoleExporter] (readable lines
//     for a person at a terminal) or [NewWriterExporter] (print the OTLP
//     JSON that would be sent).
//   - [NewMultiHandler] sends every record to several exporters at once
//     (Logfire and a Collector, several Logfire projects, the console
//     alongside), each with its own queue and counters
//     ([Handler.DestinationStats]); NewFromEnv builds one when the
//     environment names several destinations.
//   - [Redact] and [Sample] are slog middleware to put in front of the
//     handler, e.g. with github.com/samber/slog-multi's Pipe.
//   - The relay that holds the write token for such programs is the package
//     github.com/soliplex/slogotlp/relay, served by cmd/relay.
//
// # Record Conversion
//
// Each [slog.Record] becomes one OTLP LogRecord:
//
//	slog                        OTLP LogRecord
//	--------------------------  ------------------------------------------------
//	Time                        timeUnixNano; a zero Time, or one OTLP cannot hold (before
//	                            1970, after 2262), leaves it unset: the log data model's
//	                            "missing", and receivers use observedTimeUnixNano
//	(when Handle ran)           observedTimeUnixNano
//	Level                       severityNumber = level+9 clamped to 1..24
//	                            (TRACE 1, DEBUG 5, INFO 9, WARN 13, ERROR 17, FATAL 21);
//	                            severityText "INFO", "WARN+2", ... (see LevelTrace, LevelFatal)
//	Message                     body.stringValue
//	attributes                  attributes, in order; the last of duplicate keys wins; at
//	                            the top level an empty key is left out and counted in
//	                            droppedAttributesCount (the data model wants keys non-empty)
//	WithAttrs attributes        attributes, before the record's own
//	AttrFromContext             attributes, after the bound ones, in no WithGroup group
//	WithGroup(name)             one attribute "name" whose kvlistValue holds later attributes;
//	                            left out when it ends up empty
//	EventNameKey (a string)     eventName, and no attribute (see EventNameKey)
//	PC (with AddSource)         code.file.path, code.line.number, code.function.name
//	an error attribute          also exception.type (ErrorType() if the error has it, else
//	                            the concrete type's package path and name, looking through
//	                            fmt.Errorf wrappers, as the OpenTelemetry Go SDK names it),
//	                            exception.message (unless empty), and exception.stacktrace
//	                            when the error carries a stack (it prints one under %+v) or
//	                            StackTraces is set at ERROR+; of several errors, the last
//	span context in the ctx     traceId, spanId (lowercase hex) and flags, for any valid
//	                            OpenTelemetry span context, sampled or not
//	LogfireAttributes           also logfire.msg (the message), and with AddSource
//	                            code.filepath, code.lineno, code.function
//
// The derived attributes (source, exception, Logfire's) come first, and a
// caller's own top-level attribute of the same key, bound, from the context
// or the record's own, replaces the derived one: no key ever appears twice
// in one attribute list. An error value is what ReplaceAttr left: an error
// it replaced or dropped gives no exception.
//
// AttributeCountLimit (default 128) bounds the attributes of a record's own
// list, derived ones first; the others are left out and counted in
// droppedAttributesCount. The resource carries the schemaUrl of the
// semantic conventions its keys follow (1.43.0); log records carry none,
// as their attributes are the caller's.
//
// Attribute values map by [slog.Kind]:
//
//	slog.Kind / Go type         OTLP AnyValue
//	--------------------------  ------------------------------------------------
//	KindString                  stringValue (invalid UTF-8 becomes U+FFFD; cut to
//	                            AttributeValueLengthLimit characters, then to MaxValueLen
//	                            bytes, "…" included)
//	KindInt64                   intValue (a decimal string, as OTLP/JSON requires)
//	KindUint64                  intValue; above MaxInt64, stringValue with the exact digits
//	KindFloat64                 doubleValue; NaN and ±Inf as "NaN", "Infinity", "-Infinity"
//	KindBool                    boolValue
//	KindDuration                intValue, in nanoseconds (as otelslog and slog's JSON handler)
//	KindTime                    stringValue, RFC 3339 with nanoseconds
//	KindGroup                   kvlistValue (nested, like the otelslog bridge); an empty
//	                            group is left out; a group with an empty key is inlined
//	KindLogValuer               resolved first; a panicking LogValue shows as
//	                            "LogValue panicked ..." (log/slog's own recovery)
//	[]byte, any byte slice      bytesValue (base64), cut to AttributeValueLengthLimit bytes
//	or byte array
//	json.RawMessage             stringValue of its text when it holds valid JSON
//	slices and arrays           arrayValue, each element converted as an attribute value
//	maps with string keys       kvlistValue, sorted by key
//	pointers                    the value pointed to; a nil pointer is an empty AnyValue
//	*slog.Source                kvlistValue of function, file and line (as slog.JSONHandler)
//	error                       stringValue of Error()
//	fmt.Stringer                stringValue of String()
//	nil                         an empty AnyValue ({})
//	anything else               stringValue of fmt's %+v
//
// A panic in a value's Error, String or formatting methods is recovered and
// shown as "!PANIC: ..."; values nested deeper than 16 levels (such as a map
// that contains itself) show as "!DEPTH". Handle never panics on a value.
//
// ReplaceAttr, with log/slog's signature, rewrites attributes as it does
// for slog.JSONHandler: every non-group attribute, resolved, with the names
// of the groups that hold it, depth first; the built-in time, level and
// message are LogRecord fields and are not offered. The conformance module
// compares the records, and the ReplaceAttr calls, with slog.JSONHandler's,
// and the records with the official OpenTelemetry stack's (otelslog over
// sdk/log); the README lists every difference from the latter.
//
// # Scopes
//
// Records are grouped by instrumentation scope: the handler's ScopeName by
// default, or a per-logger scope chosen with [Handler.WithScope] or by binding
// [ScopeKey] with With. Records of different scopes land in separate
// scopeLogs entries of one payload.
//
// # Delivery
//
// See [HandlerOptions] for batching (BatchSize, FlushInterval,
// ConcurrentExports), the bounded queue and its [Overflow] policy (by
// default TRACE/DEBUG go first, then INFO/WARN, ERROR and FATAL only when
// nothing else is queued; or Handle waits up to BlockTimeout for room),
// retries (exponential backoff with jitter, Retry-After honoured,
// MaxRetryTime), the one per-request timeout (ExportTimeout), payload
// splitting (MaxPayloadBytes) and the offline state.
//
// A record counts as exported only when the receiver answered 2xx to the
// POST that carried it: redirects that would drop the body (301, 302, 303)
// are failures, never deliveries (see [HTTPExporter]). Every failure reaches
// OnError, rate-limited to a few calls per outage, and [Handler.Shutdown]
// returns a [DeliveryError] naming what was lost and why. [Handler.Stats]
// always adds up: Handled == Exported + Dropped.Total() + Queued + Spooled.
//
// # Outages and restarts
//
// With HandlerOptions.SpoolDir (SLOGOTLP_SPOOL_DIR) set, records the
// receiver could not take are kept on disk instead of being dropped: those
// still unsent when Shutdown's deadline nears, and the batches the overflow
// policy would evict while the receiver is unreachable or failing. They are
// sent before newer records, oldest first, with their original timestamps,
// at the next start or as soon as the receiver answers again, and removed
// after a 2xx: delivery is at-least-once. With the receiver up nothing is
// written. Stats.Spooled counts this run's records moved to disk;
// Stats.Restored, RestoreRejected, SpoolEvicted and SpoolCorrupt count the
// spool's traffic, which may include earlier runs' records. See
// [HandlerOptions] (SpoolDir) for the directory's layout and bounds; the
// spool needs flock and is not available on js/wasm, wasip1 and Windows.
package slogotlp
