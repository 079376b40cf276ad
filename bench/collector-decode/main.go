// Command collector-decode times the OpenTelemetry Collector's own protobuf decoder (pdata's
// ptrace.ProtoUnmarshaler, what the collector's OTLP receiver and kafka receiver run) on the same
// ExportTraceServiceRequest bytes that bench/decode.ts gives Peregrine's decoder, so the two can be
// compared side by side in one run.
//
// Usage: collector-decode FILE...  (each file one ExportTraceServiceRequest). It then reads commands on
// stdin, one per line, and answers each with one JSON line:
//
//	bare MS  -> unmarshal every request repeatedly for MS milliseconds
//	read MS  -> the same, and also read every span's ids, name, times and attributes
//
// answer: {"spans":N,"cpu_us":N,"wall_us":N}; CPU time is this process's (user + system, GC included).
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

type answer struct {
	Spans  int   `json:"spans"`
	CPUus  int64 `json:"cpu_us"`
	WallUs int64 `json:"wall_us"`
}

func cpuMicros() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return ru.Utime.Nano()/1000 + ru.Stime.Nano()/1000
}

// sink keeps the reads from being optimised away.
var sink int

func readAll(td ptrace.Traces) {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		rs.Resource().Attributes().Range(touch)
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				s := spans.At(k)
				tid := s.TraceID()
				sid := s.SpanID()
				pid := s.ParentSpanID()
				sink += int(tid[0]) + int(sid[0]) + int(pid[0]) + len(s.Name()) + int(s.Kind())
				sink += int(s.EndTimestamp()-s.StartTimestamp()) & 1
				sink += int(s.Status().Code()) + len(s.Status().Message())
				s.Attributes().Range(touch)
			}
		}
	}
}

func touch(k string, v pcommon.Value) bool {
	sink += len(k)
	switch v.Type() {
	case pcommon.ValueTypeStr:
		sink += len(v.Str())
	case pcommon.ValueTypeInt:
		sink += int(v.Int() & 1)
	case pcommon.ValueTypeBool:
		if v.Bool() {
			sink++
		}
	case pcommon.ValueTypeDouble:
		sink += int(v.Double()) & 1
	default:
		sink += len(v.AsString())
	}
	return true
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: collector-decode FILE...")
		os.Exit(2)
	}
	var requests [][]byte
	for _, path := range os.Args[1:] {
		b, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		requests = append(requests, b)
	}
	var un ptrace.ProtoUnmarshaler
	decode := func(read bool) int {
		n := 0
		for _, b := range requests {
			td, err := un.UnmarshalTraces(b)
			if err != nil {
				fmt.Fprintln(os.Stderr, "unmarshal:", err)
				os.Exit(1)
			}
			if read {
				readAll(td)
			}
			n += td.SpanCount()
		}
		return n
	}
	in := bufio.NewScanner(os.Stdin)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		fields := strings.Fields(in.Text())
		if len(fields) != 2 || (fields[0] != "bare" && fields[0] != "read") {
			fmt.Fprintln(os.Stderr, "expected: bare|read MS")
			os.Exit(2)
		}
		ms, err := strconv.Atoi(fields[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		read := fields[0] == "read"
		runtime.GC()
		cpu0 := cpuMicros()
		t0 := time.Now()
		spans := 0
		for {
			spans += decode(read)
			if time.Since(t0) >= time.Duration(ms)*time.Millisecond {
				break
			}
		}
		_ = out.Encode(answer{Spans: spans, CPUus: cpuMicros() - cpu0, WallUs: time.Since(t0).Microseconds()})
	}
}
