package pool

import "testing"

// Lambda gives one vCPU per 1,769 MB (6 at the 10,240 MB maximum).
func TestCPUsFollowMemory(t *testing.T) {
	p := &Pool{cfg: Config{CPUAffinity: true}}
	for mb, want := range map[int]int{128: 1, 1769: 1, 1770: 2, 3008: 2, 5307: 3, 10240: 6} {
		if got := p.cpus(mb); got != want {
			t.Errorf("cpus(%d MB) = %d, want %d", mb, got, want)
		}
	}
	p.cfg.CPUAffinity = false
	if got := p.cpus(128); got != 0 {
		t.Errorf("without CPUAffinity: cpus = %d, want 0 (no limit)", got)
	}
}
