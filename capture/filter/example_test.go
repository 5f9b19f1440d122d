package filter_test

import (
	"fmt"

	"github.com/gopacket/gopacket/layers"

	"github.com/wiredojo/wiredojo/capture/filter"
)

func ExampleCompile() {
	prog, err := filter.Compile("tcp port 80", layers.LinkTypeEthernet, 262144)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(prog.Dump())
	// Output:
	// (000) ldh      [12]
	// (001) jeq      #0x86dd          jt 2	jf 8
	// (002) ldb      [20]
	// (003) jeq      #0x6             jt 4	jf 19
	// (004) ldh      [54]
	// (005) jeq      #0x50            jt 18	jf 6
	// (006) ldh      [56]
	// (007) jeq      #0x50            jt 18	jf 19
	// (008) jeq      #0x800           jt 9	jf 19
	// (009) ldb      [23]
	// (010) jeq      #0x6             jt 11	jf 19
	// (011) ldh      [20]
	// (012) jset     #0x1fff          jt 19	jf 13
	// (013) ldxb     4*([14]&0xf)
	// (014) ldh      [x + 14]
	// (015) jeq      #0x50            jt 18	jf 16
	// (016) ldh      [x + 16]
	// (017) jeq      #0x50            jt 18	jf 19
	// (018) ret      #262144
	// (019) ret      #0
}

func ExampleProgram_Match() {
	prog, err := filter.Compile("udp dst port 53", layers.LinkTypeRaw, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	// an IPv4/UDP header from 10.0.0.1:33333 to 10.0.0.53:53
	pkt := []byte{
		0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 53,
		0x82, 0x35, 0, 53, 0, 8, 0, 0,
	}
	fmt.Println(prog.Match(pkt))
	// Output: true
}

func ExampleSyntaxError() {
	_, err := filter.Compile("tcp port 80 and hots 10.0.0.1", layers.LinkTypeEthernet, 0)
	fmt.Println(err)
	// Output:
	// filter: column 17: unknown keyword "hots" (did you mean "host"?)
	//   tcp port 80 and hots 10.0.0.1
	//                   ^
}
