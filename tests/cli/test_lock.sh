#!/usr/bin/env bash
# The run folder's lock (run/lock.h): a second mixphm on a folder in use stops at once naming the
# owner (host and pid), without touching the folder; a lock left by a killed process is taken over;
# --force-unlock takes a folder whose owner cannot be checked (here: any holder).
. "$(dirname "$0")/lib.sh"
CFG=tests/data/train_tiny.yaml
LONG=(--set train.epochs=120 --set "run.dir=\"$TMP/run\"")
"$MIXPHM" run "$CFG" "${LONG[@]}" --until features >/dev/null 2>&1
"$MIXPHM" train "$CFG" "${LONG[@]}" >"$TMP/a.log" 2>&1 &
a=$!
for _ in $(seq 1 1000); do grep -q "full-k16-s13: step" "$TMP/a.log" 2>/dev/null && break; sleep 0.02; done
t_run "$MIXPHM" run "$CFG" "${LONG[@]}"
t_expect "a second mixphm on a folder in use stops, naming the owner" 1 "the run folder $TMP/run is in use by" \
    "pid $a" "mixphm train $CFG"
grep -q "step" "$TMP/a.log" && ! grep -q "error" "$TMP/a.log" && kill -0 $a 2>/dev/null &&
    t_ok "the owner goes on undisturbed" || t_fail "the owner goes on" "$(tail -5 "$TMP/a.log")"
kill -KILL $a
wait $a 2>/dev/null
t_run "$MIXPHM" train "$CFG" "${LONG[@]}"
t_expect "the lock of a killed process is taken over, and the run resumes" 0 "resuming at step" "full-k16-s13: done in"
t_run "$MIXPHM" run "$CFG" "${LONG[@]}"
t_expect "a lock released at exit: the next run goes ahead" 0 "aggregate: done"
# A holder that mixphm cannot wait out (a process that keeps the lock): --force-unlock takes the folder.
/usr/bin/python3 -c '
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.lockf(fd, fcntl.LOCK_EX)
os.write(fd, b"otherhost 4242 since 2026-01-01T00:00:00: mixphm run elsewhere\n")
open(sys.argv[2], "w").close()
time.sleep(30)' "$TMP/run/.mixphm.lock" "$TMP/held" &
holder=$!
for _ in $(seq 1 500); do [ -e "$TMP/held" ] && break; sleep 0.02; done
t_run "$MIXPHM" run "$CFG" "${LONG[@]}"
t_expect "a held lock names its owner from the lock file" 1 "in use by otherhost pid 4242" "mixphm run elsewhere"
t_run "$MIXPHM" run "$CFG" "${LONG[@]}" --force-unlock
t_expect "--force-unlock takes the folder" 0 "up to date"
kill $holder 2>/dev/null
wait $holder 2>/dev/null
t_finish
