package templates

import (
	"fmt"
	"math/big"
	"net/netip"
	"strconv"
	"strings"
	"text/template"
)

// The ansible.utils IP filters (ipaddr, ipv4, ipv6, ipwrap) on Go's
// net/netip: a value is an address, optionally with a prefix length or a
// netmask ("10.0.0.5", "10.0.0.5/24", "10.0.0.5/255.255.255.0", "fe80::1/64");
// a list is filtered element by element, keeping what is not false.
func ipFuncs(m template.FuncMap) {
	m["ipaddr"] = func(args ...any) (any, error) { return ipFilter(0, args) }
	m["ipv4"] = func(args ...any) (any, error) { return ipFilter(4, args) }
	m["ipv6"] = func(args ...any) (any, error) { return ipFilter(6, args) }
	m["ipwrap"] = func(args ...any) (any, error) {
		return ipEach(args[len(args)-1], func(v any) (any, error) {
			s, _ := v.(string)
			if n, ok := parseIPNet(s); ok && n.addr.Is6() {
				return "[" + n.addr.String() + "]" + strings.TrimPrefix(s, n.addr.String()), nil
			}
			return v, nil
		})
	}
}

// ipFilter is ipaddr(query) with the value last, as a pipeline gives it;
// version 4 or 6 keeps only addresses of that version.
func ipFilter(version int, args []any) (any, error) {
	if len(args) == 0 || len(args) > 2 {
		return nil, fmt.Errorf("ipaddr: takes a value and at most one query")
	}
	query := ""
	if len(args) == 2 {
		query = strings.TrimSpace(fmt.Sprint(args[0]))
	}
	return ipEach(args[len(args)-1], func(v any) (any, error) { return ipQuery(v, query, version) })
}

// ipEach applies f to a value, or to each element of a list keeping the
// results that are not false or none (ansible.utils' list rule).
func ipEach(v any, f func(any) (any, error)) (any, error) {
	list, ok := v.([]any)
	if !ok {
		return f(v)
	}
	out := []any{}
	for _, e := range list {
		r, err := f(e)
		if err != nil {
			return nil, err
		}
		if r != nil && r != false {
			out = append(out, r)
		}
	}
	return out, nil
}

// ipNet is a parsed value: the address and its network (a bare address
// is its own /32 or /128).
type ipNet struct {
	addr   netip.Addr
	prefix netip.Prefix
}

func parseIPNet(s string) (ipNet, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return ipNet{}, false
	}
	addrText, bits, hasBits := strings.Cut(s, "/")
	a, err := netip.ParseAddr(strings.Trim(addrText, "[]"))
	if err != nil {
		return ipNet{}, false
	}
	a = a.Unmap()
	n := a.BitLen()
	if hasBits {
		if mask, err := netip.ParseAddr(bits); err == nil && a.Is4() && mask.Is4() {
			ones, ok := maskBits(mask)
			if !ok {
				return ipNet{}, false
			}
			n = ones
		} else if n, err = strconv.Atoi(bits); err != nil || n < 0 || n > a.BitLen() {
			return ipNet{}, false
		}
	}
	p, err := a.Prefix(n)
	if err != nil {
		return ipNet{}, false
	}
	return ipNet{addr: a, prefix: p}, true
}

// maskBits is a dotted netmask's length (false for 255.0.255.0).
func maskBits(mask netip.Addr) (int, bool) {
	b := mask.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	ones := 0
	for v&0x80000000 != 0 {
		ones++
		v <<= 1
	}
	return ones, v == 0
}

func (n ipNet) size() *big.Int {
	return new(big.Int).Lsh(big.NewInt(1), uint(n.addr.BitLen()-n.prefix.Bits()))
}

// nth is the network's address at offset i (from the end when negative).
func (n ipNet) nth(i *big.Int) (netip.Addr, bool) {
	base := new(big.Int).SetBytes(n.prefix.Addr().AsSlice())
	if i.Sign() < 0 {
		i = new(big.Int).Add(n.size(), i)
	}
	if i.Sign() < 0 || i.Cmp(n.size()) >= 0 {
		return netip.Addr{}, false
	}
	base.Add(base, i)
	b := base.Bytes()
	out := make([]byte, n.addr.BitLen()/8)
	copy(out[len(out)-len(b):], b)
	a, ok := netip.AddrFromSlice(out)
	return a, ok
}

func (n ipNet) broadcast() (netip.Addr, bool) { return n.nth(big.NewInt(-1)) }

// multi says the network has a network and a broadcast address apart from
// its hosts (more than 2 addresses; IPv6 has no broadcast, as netaddr says).
func (n ipNet) multi() bool { return n.size().Cmp(big.NewInt(2)) > 0 }

// ipQuery answers one query about one value, as ansible.utils' ipaddr
// does: the value (or a part of it) when it qualifies, false when not.
func ipQuery(v any, query string, version int) (any, error) {
	s, isString := v.(string)
	n, ok := parseIPNet(s)
	if !isString || !ok || (version == 4 && !n.addr.Is4()) || (version == 6 && !n.addr.Is6()) {
		return false, nil // not an address (of that version): bool says false too
	}
	bits := strconv.Itoa(n.prefix.Bits())
	isNetwork := n.multi() && n.addr == n.prefix.Addr()
	bcast, _ := n.broadcast()
	isBroadcast := n.multi() && n.addr.Is4() && n.addr == bcast
	// a valid value the query does not fit is none (ansible.utils' query
	// functions fall through); an invalid one is false
	either := func(ok bool, val any) (any, error) {
		if ok {
			return val, nil
		}
		return nil, nil
	}
	switch query {
	case "", "ipv4", "ipv6", "6", "4":
		if (query == "ipv4" || query == "4") && !n.addr.Is4() || (query == "ipv6" || query == "6") && !n.addr.Is6() {
			return false, nil
		}
		return s, nil
	case "bool":
		return true, nil
	case "address":
		return either(!isNetwork, n.addr.String())
	case "host":
		return either(!isNetwork, n.addr.String()+"/"+bits)
	case "address/prefix", "host/prefix":
		return either(!isNetwork && !isBroadcast, n.addr.String()+"/"+bits)
	case "network":
		return n.prefix.Addr().String(), nil
	case "subnet", "cidr", "network/prefix":
		return n.prefix.String(), nil
	case "net":
		return either(isNetwork, n.prefix.String())
	case "prefix":
		return n.prefix.Bits(), nil
	case "netmask", "hostmask":
		return maskText(n.addr, n.prefix.Bits(), query == "hostmask"), nil
	case "broadcast":
		return either(n.multi() && n.addr.Is4(), bcast.String())
	case "size":
		if n.size().IsInt64() {
			return n.size().Int64(), nil
		}
		return n.size().String(), nil
	case "first_usable", "last_usable":
		if !n.multi() {
			return false, nil
		}
		off := big.NewInt(1)
		if query == "last_usable" {
			off = big.NewInt(-2)
			if n.addr.Is6() {
				off = big.NewInt(-1)
			}
		}
		a, _ := n.nth(off)
		return a.String(), nil
	case "private":
		return either(n.addr.IsPrivate(), s)
	case "public":
		return either(n.addr.IsGlobalUnicast() && !n.addr.IsPrivate() && !sharedAddress(n.addr), s)
	case "loopback":
		return either(n.addr.IsLoopback(), s)
	case "link-local":
		return either(n.addr.IsLinkLocalUnicast(), s)
	case "multicast":
		return either(n.addr.IsMulticast(), s)
	case "unicast":
		return either(!n.addr.IsMulticast(), s)
	case "wrap":
		if n.addr.Is6() {
			return "[" + n.addr.String() + "]", nil
		}
		return s, nil
	case "revdns":
		return reverseName(n.addr), nil
	}
	if i, ok := new(big.Int).SetString(query, 10); ok {
		a, ok := n.nth(i)
		return either(ok, a.String()+"/"+bits)
	}
	return nil, fmt.Errorf("ipaddr: unknown query %q (address, network, netmask, prefix, host, subnet, broadcast, size, public, private, bool, a number...)", query)
}

// sharedAddress is 100.64.0.0/10 (carrier-grade NAT): neither private nor public.
func sharedAddress(a netip.Addr) bool {
	return netip.MustParsePrefix("100.64.0.0/10").Contains(a)
}

// maskText is a prefix length as a dotted netmask (or its inverse, the
// hostmask); IPv6 masks are written as addresses too.
func maskText(a netip.Addr, bits int, inverse bool) string {
	b := make([]byte, a.BitLen()/8)
	for i := 0; i < bits; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	if inverse {
		for i := range b {
			b[i] ^= 0xff
		}
	}
	m, _ := netip.AddrFromSlice(b)
	return m.String()
}

// reverseName is the address's PTR name (in-addr.arpa / ip6.arpa).
func reverseName(a netip.Addr) string {
	var parts []string
	if a.Is4() {
		b := a.As4()
		for i := 3; i >= 0; i-- {
			parts = append(parts, strconv.Itoa(int(b[i])))
		}
		return strings.Join(parts, ".") + ".in-addr.arpa."
	}
	b := a.As16()
	for i := 15; i >= 0; i-- {
		parts = append(parts, strconv.FormatInt(int64(b[i]&0xf), 16), strconv.FormatInt(int64(b[i]>>4), 16))
	}
	return strings.Join(parts, ".") + ".ip6.arpa."
}
