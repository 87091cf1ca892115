package conformance

import (
	"encoding/json"
	"fmt"
)

// The seed's complete workflow: upload → execute → download, and files
// that persist across executions (seed "Complete workflow").
var _ = area("flows", nil, func() {
	const seedCode = `import json
with open('/home/baponi/input.json') as f:
    data = json.load(f)
result = {"sum": sum(data["values"]), "count": len(data["values"])}
with open('/home/baponi/output.json', 'w') as f:
    json.dump(result, f)
print(f"Processed {result['count']} values, sum = {result['sum']}")
`
	check("R-3", DOC, "the seed's flow: upload input.json, python writes output.json, download it", labels("execute", "R-3.a", "S-2.b"), func(c *checkRun) {
		c.need(needExecute)
		sp := c.thread("flow")
		input := []byte(`{"values": [1, 2, 3, 4, 5]}`)
		c.upload(sp, "input.json", "application/json", input)
		e := c.execOK("python", seedCode, sp.ID)
		c.expect(e.resp, e.out() == "Processed 5 values, sum = 15\n", claim{want: "Processed 5 values, sum = 15", got: e.out(), why: "unexpected stdout"})
		got := c.download(sp, "output.json")
		var out map[string]int
		c.expect(got, json.Unmarshal(got.Body, &out) == nil && out["sum"] == 15 && out["count"] == 5, claim{want: `{"sum": 15, "count": 5}`, got: string(got.Body), why: "output.json is not the code's result"})
		es, r := c.list(sp, nil)
		sizes := map[string]int64{}
		for _, e := range es {
			sizes[e.Path] = e.Size
		}
		c.expect(r, len(es) == 2 && sizes["input.json"] == 27 && sizes["output.json"] == int64(len(got.Body)), claim{want: fmt.Sprintf("input.json (27 bytes), output.json (%d bytes)", len(got.Body)), got: fmt.Sprint(sizes), why: "the thread does not hold exactly the two files"})
	})

	check("R-3", DOC, "persistence across executions: each run extends what the last one left", labels("execute", "R-3.b"), func(c *checkRun) {
		c.need(needExecute)
		sp := c.thread("flow-persist")
		c.upload(sp, "counter.txt", "text/plain", []byte("0"))
		code := "n = int(open('/home/baponi/counter.txt').read())\nopen('/home/baponi/counter.txt','w').write(str(n+1))\nprint(n+1)"
		for i := 1; i <= 3; i++ {
			e := c.execOK("python", code, sp.ID)
			c.expect(e.resp, e.out() == fmt.Sprintf("%d\n", i), claim{want: fmt.Sprint(i), got: e.out(), why: fmt.Sprintf("execution %d did not see the previous state", i)})
		}
		got := c.download(sp, "counter.txt")
		c.expect(got, string(got.Body) == "3", claim{want: "3", got: string(got.Body), why: "the final state does not download"})
	})

	check("D-1", DOC, "files only: upload, list, download, replace, delete in a thread and a volume", labels("D-1.b", "U-6.c", "X-1.b"), func(c *checkRun) {
		for _, sp := range []space{c.thread("flow-files"), {"volume", c.rs.cfg.RWVolume}} {
			if sp.ID == "" {
				continue
			}
			p := "report/summary.txt"
			if sp.Source == "volume" {
				p = c.volPath("summary.txt")
			}
			c.upload(sp, p, "text/plain", []byte("v1"))
			c.upload(sp, p, "text/plain", []byte("version 2"))
			got := c.download(sp, p)
			c.expect(got, string(got.Body) == "version 2", claim{want: "version 2", got: string(got.Body), why: fmt.Sprintf("%s: download after replace", sp)})
			c.ok(c.deleteResp(sp, p))
			c.notStored(sp, p)
		}
	})
})
