# Sourced by the hunt scripts here, not run. Needs P (namespace prefix), STATE (the lab's state folder), MODE (the
# engine's mode) and B (the bufferless command, an array).

# hunt_up LOGPREFIX: a fresh lab $P-* (nginx with its access log), the engine in its accel namespace (pid in EP), no
# fault hop yet (FP empty).
hunt_up() {
  "${B[@]}" lab down --prefix $P --state $STATE >/dev/null 2>&1
  mkdir -p $STATE; chmod 755 $STATE
  "${B[@]}" lab up --prefix $P --state $STATE --access-log > "$1-labup.log" 2>&1 || { cat "$1-labup.log"; exit 1; }
  ip netns exec $P-accel "${B[@]}" cut-through --tun bl-tun --cert $STATE/certs/ecdsa.crt --key $STATE/certs/ecdsa.key \
    --mode $MODE > "$1-engine.log" 2>&1 &
  EP=$!; sleep 2; FP=()
}

# hunt_down LOGPREFIX: prints the engine's counters, stops the engine and the fault hops, removes the lab.
hunt_down() {
  kill -USR1 $EP; sleep 0.5; grep counters "$1-engine.log" | tail -1
  kill $EP "${FP[@]}" 2>/dev/null; wait 2>/dev/null
  "${B[@]}" lab down --prefix $P --state $STATE >/dev/null 2>&1
}

# fault_hop NS LOGPREFIX: puts the faulty hop (2% loss, 1% duplication, 5% reordering, 2 ms) in front of what leaves
# namespace $P-NS towards the engine (the client's TLS traffic, the server's plain-port replies); appends the
# forwarder's pid to FP.
fault_hop() {
  local ns=$1 sel seed
  if [ "$ns" = client ]; then sel=(dport 443); seed=11; else sel=(sport 80); seed=12; fi
  ip netns exec "$P-$ns" "${B[@]}" lab forward --tun bl-flt --loss 0.02 --duplicate 0.01 --reorder 0.05 --delay-ms 2 \
    --seed $seed > "$2-fault-$ns.log" 2>&1 &
  FP+=($!); sleep 1.5
  ip -n "$P-$ns" link set bl-flt up
  ip netns exec "$P-$ns" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
    net.ipv4.conf.bl-flt.rp_filter=0 net.ipv4.conf.bl-flt.accept_local=1
  ip -n "$P-$ns" rule add iif lo ipproto tcp "${sel[@]}" table 200
  ip -n "$P-$ns" route replace default dev bl-flt table 200
}
