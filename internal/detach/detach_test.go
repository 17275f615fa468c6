package detach

import (
	"context"
	"errors"
	"testing"
	"time"
)

// The context ends with cancel, with done, or at its timeout, whichever
// comes first.
func TestUntil(t *testing.T) {
	ctx, cancel := Until(nil, 0)
	if ctx.Err() != nil {
		t.Fatal("ended before anything ended it")
	}
	cancel()
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Errorf("after cancel: %v", ctx.Err())
	}
	done := make(chan struct{})
	ctx, cancel = Until(done, 0)
	defer cancel()
	close(done)
	<-ctx.Done()
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Errorf("after done: %v", ctx.Err())
	}
	ctx, cancel = Until(make(chan struct{}), time.Millisecond)
	defer cancel()
	<-ctx.Done()
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Errorf("after the timeout: %v", ctx.Err())
	}
}
