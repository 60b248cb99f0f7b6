// Package slogotlp is an [slog.Handler] that ships every log record to
// Pydantic Logfire, or to any OTLP/HTTP endpoint (an OpenTelemetry
// Collector, Grafana, Honeycomb), as OTLP JSON.
//
// Records are encoded once, on the caller's goroutine, into pooled buffers
// and queued in memory; one background goroutine per handler batches them,
// exports them through an [Exporter], retries with backoff and counts every
// record it could not deliver (see [Handler.Stats]). Logging never waits on
// the network.
//
// # Entry points
//
// A service usually starts with [NewFromEnv], which builds the handler from a
// [Config] and the environment (LOGFIRE_TOKEN, the standard
// OTEL_EXPORTER_OTLP_* variables), and with [Handler.NotifyShutdown], which
// flushes what is queued when the program ends or is stopped:
//
//	h, err := slogotlp.NewFromEnv(&slogotlp.Config{ServiceName: "checkout"})
//	if err != nil {
//		log.Fatal(err) // names the bad variable
//	}
//	ctx, shutdown := h.NotifyShutdown(5 * time.Second)
//	defer shutdown()
//	slog.SetDefault(slog.New(h))
//	run(ctx) // the program's work
//
// The other entry points:
//
//   - [NewHandler] takes an [Exporter] chosen in code: [NewLogfireExporter]
//     (Pydantic Logfire, with the write token), [NewHTTPExporter] (any
//     OTLP/HTTP receiver), [NewProxyExporter] (the relay, for programs that
//     must not hold the write token) or [NewWriterExporter] (print what
//     would be sent).
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
//	Time                        timeUnixNano; a zero Time falls back to the observed time
//	(when Handle ran)           observedTimeUnixNano
//	Level                       severityNumber = level+9 clamped to 1..24
//	                            (TRACE 1, DEBUG 5, INFO 9, WARN 13, ERROR 17, FATAL 21);
//	                            severityText "INFO", "WARN+2", ... (see LevelTrace, LevelFatal)
//	Message                     body.stringValue
//	attributes                  attributes, in order; the last of duplicate keys wins
//	WithAttrs attributes        attributes, before the record's own
//	WithGroup(name)             one attribute "name" whose kvlistValue holds later attributes;
//	                            left out when it ends up empty
//	PC (with AddSource)         code.file.path, code.line.number, code.function.name
//	an error attribute          also exception.type (%T), exception.message, and
//	                            exception.stacktrace when the error carries a stack
//	                            (it prints one under %+v) or StackTraces is set at ERROR+
//	span context in the ctx     traceId, spanId (lowercase hex) and flags, for any valid
//	                            OpenTelemetry span context, sampled or not
//
// Attribute values map by [slog.Kind]:
//
//	slog.Kind / Go type         OTLP AnyValue
//	--------------------------  ------------------------------------------------
//	KindString                  stringValue (invalid UTF-8 becomes U+FFFD; values over
//	                            MaxValueLen are cut and end in "…")
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
//	[]byte                      bytesValue (base64)
//	slices and arrays           arrayValue, each element converted as an attribute value
//	maps with string keys       kvlistValue, sorted by key
//	error                       stringValue of Error()
//	fmt.Stringer                stringValue of String()
//	nil                         an empty AnyValue ({})
//	anything else               stringValue of fmt's %+v
//
// A panic in a value's Error, String or formatting methods is recovered and
// shown as "!PANIC: ..."; values nested deeper than 16 levels (such as a map
// that contains itself) show as "!DEPTH". Handle never panics on a value.
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
// See [HandlerOptions] for batching (BatchSize, FlushInterval), the bounded
// queue and its overflow policy (TRACE/DEBUG go first, then INFO/WARN; ERROR
// and FATAL only when nothing else is queued), retries (exponential backoff
// with jitter, Retry-After honoured, MaxRetryTime), payload splitting
// (MaxPayloadBytes) and the offline state. [Handler.Stats] always adds up:
// Handled == Exported + Dropped.Total() + Queued.
package slogotlp
