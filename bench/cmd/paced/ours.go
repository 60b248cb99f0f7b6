package main

// This is the only file that uses slogotlp's API, so a renamed or added
// option means a change here and nowhere else.

import (
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/soliplex/slogotlp"
)

// knobs are the slogotlp settings a run can try. Each is a flag of the same
// name; zero leaves the library's default. The driver forwards every knob
// set on its command line to the client processes, and -lossless-knobs
// takes the same flags.
type knobs struct {
	queue, batch, queueBytes     int
	flushInterval, exportTimeout time.Duration
	noGzip                       bool
	concurrent                   int
	format                       string

	// ADD NEW KNOBS HERE: a field above, a line in register, and the field
	// used where newOurs builds the options (e.g. a wire format, requests in
	// flight, an overflow policy).
}

func (k *knobs) register(fs *flag.FlagSet) {
	fs.IntVar(&k.queue, "queue", 0, "slogotlp: `records` queued at most, MaxQueueSize (0: library default)")
	fs.IntVar(&k.batch, "batch", 0, "slogotlp: `records` per export, BatchSize (0: library default)")
	fs.IntVar(&k.queueBytes, "queue-bytes", 0, "slogotlp: `bytes` queued at most, MaxQueueBytes (0: library default)")
	fs.DurationVar(&k.flushInterval, "flush-interval", 0, "slogotlp: FlushInterval (0: library default)")
	fs.DurationVar(&k.exportTimeout, "export-timeout", 0, "slogotlp: ExportTimeout (0: library default)")
	fs.BoolVar(&k.noGzip, "no-gzip", false, "slogotlp: send uncompressed (HTTPExporterOptions.DisableGzip)")
	fs.IntVar(&k.concurrent, "concurrent", 0, "slogotlp: export `requests` in flight, ConcurrentExports (0: library default)")
	fs.StringVar(&k.format, "format", "", "slogotlp: wire format, json or protobuf (empty: library default)")
}

// ourStats is the part of slogotlp's Stats a run reports.
type ourStats struct {
	Handled, Exported, Dropped, Queued uint64
	// Spooled is always 0 here (the harness runs without a disk spool);
	// kept so the identity below is the library's.
	Spooled   uint64 `json:",omitempty"`
	DroppedBy string // the DropCounts by reason
}

// identityHolds reports whether every record handled is accounted for.
func (s *ourStats) identityHolds() bool {
	return s.Handled == s.Exported+s.Dropped+s.Queued+s.Spooled
}

// newOurs builds slogotlp as a user would: the library's HTTP exporter and
// handler, with k's settings over the defaults.
func newOurs(url string, k knobs) (*stack, error) {
	eo := &slogotlp.HTTPExporterOptions{DisableGzip: k.noGzip}
	switch k.format {
	case "":
	case "json":
		eo.Format = slogotlp.FormatJSON
	case "protobuf":
		eo.Format = slogotlp.FormatProtobuf
	default:
		return nil, fmt.Errorf("-format %q: want json or protobuf", k.format)
	}
	exp, err := slogotlp.NewHTTPExporter(url, eo)
	if err != nil {
		return nil, err
	}
	h := slogotlp.NewHandler(exp, &slogotlp.HandlerOptions{
		ConcurrentExports: k.concurrent,
		BatchSize:         k.batch,
		MaxQueueSize:      k.queue,
		MaxQueueBytes:     k.queueBytes,
		FlushInterval:     k.flushInterval,
		ExportTimeout:     k.exportTimeout,
	})
	return &stack{
		logger: slog.New(h),
		// Queued counts records waiting and those in the export under way.
		backlog:  func(int64) int64 { return int64(h.Stats().Queued) },
		shutdown: h.Shutdown,
		finish: func(res *clientResult) {
			st := h.Stats()
			res.Ours = &ourStats{
				Handled:   st.Handled,
				Exported:  st.Exported,
				Dropped:   st.Dropped.Total(),
				Queued:    st.Queued,
				Spooled:   st.Spooled,
				DroppedBy: fmt.Sprintf("%+v", st.Dropped),
			}
		},
	}, nil
}
