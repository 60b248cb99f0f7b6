package relay

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/soliplex/slogotlp"
	"golang.org/x/time/rate"
)

// otlpBody builds a valid OTLP JSON logs request of about size bytes.
func otlpBody(size int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"bench"}}]},"scopeLogs":[{"scope":{"name":"bench"},"logRecords":[`)
	for i := 0; b.Len() < size-200; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"timeUnixNano":"%d","severityNumber":9,"severityText":"INFO","body":{"stringValue":"request %d handled in 12ms by worker"},"attributes":[{"key":"n","value":{"intValue":"%d"}}]}`, 1700000000000000000+i, i, i)
	}
	b.WriteString(`]}]}]}`)
	return b.Bytes()
}

// BenchmarkRelay measures the relay over loopback: client -> relay (JWT check,
// limits, structural check, stamping) -> upstream that discards. Run with
// -cpu 2 -benchtime 2000x; it reports requests/s and p99 latency.
func BenchmarkRelay(b *testing.B) {
	for _, size := range []int{1 << 10, 256 << 10} {
		b.Run(strconv.Itoa(size>>10)+"KiB", func(b *testing.B) {
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, `{"partialSuccess":{}}`)
			}))
			defer up.Close()
			t := &http.Transport{MaxIdleConnsPerHost: 64}
			r, err := New(Config{Upstream: up.URL + "/v1/logs", UpstreamToken: slogotlp.NewSecret(serverToken),
				JWTSecret: slogotlp.NewSecret(testSecret), HTTPClient: &http.Client{Transport: t},
				UserRate: rate.Inf, SessionRate: rate.Inf})
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			defer t.CloseIdleConnections()
			srv := httptest.NewServer(r)
			defer srv.Close()
			body := otlpBody(size)
			tok := "Bearer " + hsToken(b, "alice", "s")
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			defer client.CloseIdleConnections()

			const workers = 8
			lat := make([]time.Duration, b.N)
			var next atomic.Int64
			var failed atomic.Int64
			var wg sync.WaitGroup
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for range workers {
				wg.Go(func() {
					for {
						i := next.Add(1) - 1
						if i >= int64(b.N) {
							return
						}
						req, _ := http.NewRequest(http.MethodPost, srv.URL+LogsPath, bytes.NewReader(body))
						req.Header.Set("Authorization", tok)
						req.Header.Set("Content-Type", "application/json")
						t0 := time.Now()
						resp, err := client.Do(req)
						if err == nil {
							_, _ = io.Copy(io.Discard, resp.Body)
							_ = resp.Body.Close()
						}
						lat[i] = time.Since(t0)
						if err != nil || resp.StatusCode != http.StatusOK {
							failed.Add(1)
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			if n := failed.Load(); n > 0 {
				b.Fatalf("%d requests failed", n)
			}
			slices.Sort(lat)
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

// BenchmarkDistinctUsers sends each request as one of 10,000 users while a
// fake clock advances 1 ms per request and the sweeper runs every 1,000
// requests. It reports the most buckets held and the live heap at the end:
// with -benchtime 30000x every user comes back three times and memory stays
// flat.
func BenchmarkDistinctUsers(b *testing.B) {
	const users = 10_000
	u := newUpstream(b)
	u.reply = ""
	clock := &fakeClock{t: time.Now()}
	r := newTestRelayClock(b, u, nil, clock.Now)
	toks := make([]string, users)
	for i := range toks {
		toks[i] = hsToken(b, "user-"+strconv.Itoa(i), "s-"+strconv.Itoa(i))
	}
	body := []byte(`{"resourceLogs":[{}]}`)
	u.mu.Lock()
	u.reqs = slices.Grow(u.reqs, 0)
	u.mu.Unlock()
	maxBuckets := 0
	var heapAfterFirst uint64
	var ms runtime.MemStats
	b.ResetTimer()
	for i := range b.N {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, LogsPath, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+toks[i%users])
		r.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("request %d: %d %s", i, rec.Code, strings.TrimSpace(rec.Body.String()))
		}
		clock.Add(time.Millisecond)
		if i%1000 == 999 {
			uN, sN := r.limits.size()
			maxBuckets = max(maxBuckets, uN+sN)
			r.limits.sweep(clock.Now())
			u.mu.Lock()
			u.reqs = u.reqs[:0] // the fake upstream's record is not the relay's memory
			u.mu.Unlock()
		}
		if i == users-1 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			heapAfterFirst = ms.HeapAlloc
		}
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(maxBuckets), "max-buckets")
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heap-MiB")
	if heapAfterFirst > 0 {
		b.ReportMetric(float64(heapAfterFirst)/(1<<20), "heap-MiB-after-10k")
	}
}
