package metrics

import (
	"runtime"
	"time"

	"github.com/imload/imload/clock"
	"github.com/imload/imload/event"
)

// Defaults of a Recorder.
const (
	DefaultLowest       = time.Microsecond // histogram unit and resolution floor
	DefaultHighest      = time.Hour        // larger latencies are clamped and counted
	DefaultDigits       = 3                // significant digits of the run histograms
	DefaultSeriesDigits = 2                // significant digits of per-second histograms
	DefaultMaxSeconds   = 24 * 60 * 60     // per-second series length cap
)

// maxSeriesSeconds bounds the series a snapshot may hold (31 days).
const maxSeriesSeconds = 31 * 24 * 60 * 60

type config struct {
	clock        clock.Clock
	start        time.Time
	lowest       time.Duration
	highest      time.Duration
	digits       int
	seriesDigits int
	shards       int
	seriesHist   [numOps]bool
	maxSeconds   int
	retireAfter  int // seconds a shard keeps behind its latest (retireAfter)
}

func defaultConfig() config {
	c := config{
		clock:        clock.Real{},
		lowest:       DefaultLowest,
		highest:      DefaultHighest,
		digits:       DefaultDigits,
		seriesDigits: DefaultSeriesDigits,
		shards:       4 * runtime.GOMAXPROCS(0),
		maxSeconds:   DefaultMaxSeconds,
		retireAfter:  retireAfter,
	}
	c.seriesHist[opIndex(event.Login)] = true
	return c
}

// Option configures a Recorder.
type Option func(*config)

// WithClock sets the clock that gives the start (unless WithStart is used)
// and the end of each snapshot.
func WithClock(c clock.Clock) Option {
	return func(cfg *config) {
		if c != nil {
			cfg.clock = c
		}
	}
}

// WithStart sets the start of the run; by default it is the clock's time when
// the recorder is made.
func WithStart(t time.Time) Option { return func(cfg *config) { cfg.start = t } }

// WithRange sets the histogram range and precision: lowest is the unit and
// smallest distinguishable latency, highest the largest recordable one, and
// digits the significant decimal digits kept (1 to 5). Out-of-range values
// are ignored.
func WithRange(lowest, highest time.Duration, digits int) Option {
	return func(cfg *config) {
		if lowest > 0 && highest >= 2*lowest && digits >= 1 && digits <= 5 {
			cfg.lowest, cfg.highest, cfg.digits = lowest, highest, digits
		}
	}
}

// WithShards sets the number of shards, rounded up to a power of two (default
// four per CPU).
func WithShards(n int) Option {
	return func(cfg *config) {
		if n > 0 {
			cfg.shards = n
		}
	}
}

// WithSeriesHistograms chooses the operations that keep a latency histogram
// per second (default: login only). Kinds that are not operations are
// ignored; no kinds at all turns them off.
func WithSeriesHistograms(kinds ...event.Kind) Option {
	return func(cfg *config) {
		cfg.seriesHist = [numOps]bool{}
		for _, k := range kinds {
			if k.IsOp() {
				cfg.seriesHist[opIndex(k)] = true
			}
		}
	}
}

// WithMaxSeconds caps the per-second series (default one day); events later
// than that are counted in the totals but left out of the series.
func WithMaxSeconds(n int) Option {
	return func(cfg *config) {
		if n > 0 && n <= maxSeriesSeconds {
			cfg.maxSeconds = n
		}
	}
}
