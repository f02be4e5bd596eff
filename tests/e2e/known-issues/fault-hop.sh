# Sourced by the hunt scripts here, not run. Needs P (namespace prefix) and B (the bufferless command, an array).

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
