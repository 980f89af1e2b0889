package ui

import "testing"

func TestFindTraceback(t *testing.T) {
	out := "Traceback (most recent call last):\n  File \"/work/s\", line 10, in <module>\n    main()\nreading the configuration\n  File \"/work/s\", line 4, in load\n    return json.loads(text)[key]\n           ~~~~^^^\nKeyError: 'missing'\nafter\n"
	tb := findTraceback("noise\n" + out)
	if tb == nil || len(tb.Frames) != 2 || tb.Frames[1].Func != "load" || tb.Frames[1].Code != "return json.loads(text)[key]" || tb.Exception != "KeyError: 'missing'" {
		t.Fatalf("traceback %+v", tb)
	}
	if findTraceback("no traceback here\n") != nil {
		t.Error("a traceback found in output without one")
	}
}
