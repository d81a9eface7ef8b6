#!/usr/bin/env python3
# Throws ~90 hostile inputs of the security review's kind (alias bombs, deep nesting, huge
# numbers, NUL/BOM/UTF-16, FIFOs, /dev/zero, symlink loops, include and role cycles, catastrophic
# regexes, template bombs) at bin/runbook and flags any hang (30 s), Go stack trace, exit 0 or
# connection to the tripwire host. Not a test: a probe to run after parser changes; every case it
# catches becomes a case of internal/cli/testdata/malformed. Usage: scripts/hostile-inputs.py [CASE...]
import os, subprocess, socket, threading, sys, shutil, tempfile, time
BIN=os.environ.get("BIN", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bin", "runbook"))
hits=[0]
srv=socket.socket(); srv.bind(("127.0.0.1",0)); srv.listen(100); PORT=srv.getsockname()[1]
def acc():
    while True:
        c,_=srv.accept(); hits[0]+=1; c.close()
threading.Thread(target=acc,daemon=True).start()
INV="all:\n  hosts:\n    web1:\n      ansible_host: 127.0.0.1\n      ansible_port: %d\n"%PORT
cases={}
def case(name, files, args="play pb.yaml -i inv.yaml", special=None):
    cases[name]=(files,args,special)
P=lambda tasks: "- hosts: all\n  gather_facts: false\n  tasks:\n"+tasks
# --- YAML shapes
bomb="a: &a [x,x,x,x,x,x,x,x,x]\n"+"".join("%s: &%s [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n"%(chr(98+i),chr(98+i),chr(97+i),chr(97+i),chr(97+i),chr(97+i),chr(97+i),chr(97+i),chr(97+i),chr(97+i),chr(97+i)) for i in range(9))
case("bomb_in_inventory_vars", {"pb.yaml":P("    - debug: msg=hi\n"), "inv.yaml":INV+"  vars:\n"+"".join("    "+l+"\n" for l in bomb.splitlines())})
case("bomb_in_group_vars", {"pb.yaml":P("    - debug: msg=hi\n"), "inv.yaml":INV, "group_vars/all.yaml":bomb})
case("bomb_in_host_vars", {"pb.yaml":P("    - debug: msg=hi\n"), "inv.yaml":INV, "host_vars/web1.yaml":bomb})
case("bomb_in_play_vars", {"pb.yaml":"- hosts: all\n  vars:\n"+"".join("    "+l+"\n" for l in bomb.splitlines())+"  tasks:\n    - debug: msg=hi\n","inv.yaml":INV})
case("bomb_in_extra_vars_file", {"pb.yaml":P("    - debug: msg=hi\n"),"inv.yaml":INV,"x.yaml":bomb}, "play pb.yaml -i inv.yaml -e @x.yaml")
case("bomb_in_role_defaults", {"pb.yaml":"- hosts: all\n  roles: [r]\n","inv.yaml":INV,"roles/r/tasks/main.yml":"- debug: msg=hi\n","roles/r/defaults/main.yml":bomb})
case("bomb_in_include_vars", {"pb.yaml":P("    - include_vars: x.yaml\n"),"inv.yaml":INV,"x.yaml":bomb})
case("merge_bomb_in_task", {"pb.yaml":"- hosts: all\n  tasks:\n    - &t0 {debug: {msg: hi}}\n"+"".join("    - &t%d {<<: [*t%d, *t%d, *t%d, *t%d], name: n%d}\n"%(i,i-1,i-1,i-1,i-1,i) for i in range(1,30)),"inv.yaml":INV})
case("flow_deep_list", {"pb.yaml":"- hosts: all\n  vars:\n    x: "+"["*200000+"]"*200000+"\n  tasks: []\n","inv.yaml":INV})
case("flow_deep_map", {"pb.yaml":"- hosts: all\n  vars:\n    x: "+"{a: "*100000+"1"+"}"*100000+"\n  tasks: []\n","inv.yaml":INV})
case("block_deep_nesting", {"pb.yaml":"- hosts: all\n  vars:\n    x:\n"+"".join(" "*(6+i)+"- \n" for i in range(3000)),"inv.yaml":INV})
case("deep_blocks", {"pb.yaml":"- hosts: all\n  tasks:\n"+"".join("  "*(2+i)+"- block:\n" for i in range(2000))+"  "*2002+"- debug: msg=x\n","inv.yaml":INV})
case("huge_int_var", {"pb.yaml":P("    - debug: msg={{ .x }}\n").replace("  tasks:","  vars: {x: "+"9"*100000+"}\n  tasks:"),"inv.yaml":INV})
case("huge_float_exp", {"pb.yaml":"- hosts: all\n  serial: 1e999999999\n  tasks: []\n","inv.yaml":INV})
case("retries_huge", {"pb.yaml":P("    - command: 'true'\n      retries: 99999999999999999999999\n      until: false\n"),"inv.yaml":INV})
case("nul_in_key", {"pb.yaml":"- hosts: all\n  ta\x00sks: []\n","inv.yaml":INV})
case("nul_in_value", {"pb.yaml":P("    - command: \"echo \\0 a\"\n"),"inv.yaml":INV})
case("invalid_utf8_key", {"pb.yaml":b"- hosts: all\n  \xff\xfe: 1\n  tasks: []\n","inv.yaml":INV})
case("utf16_bom", {"pb.yaml":"\ufeff- hosts: all\n  tasks: []\n".encode("utf-16"),"inv.yaml":INV})
case("bom_crlf_mixed", {"pb.yaml":"\ufeff- hosts: all\r\n  tasks:\n\r    - bogus_module: {}\r\n","inv.yaml":INV})
case("lone_surrogate_escape", {"pb.yaml":'- hosts: all\n  vars: {x: "\\ud800"}\n  tasks: [{bogus: 1}]\n',"inv.yaml":INV})
case("multi_docs", {"pb.yaml":"- hosts: all\n  tasks: []\n---\n- hosts: all\n  tasks: [{bogus: 1}]\n","inv.yaml":INV})
case("python_tag", {"pb.yaml":"- hosts: all\n  vars: {x: !!python/object:os.system ['id']}\n  tasks: []\n","inv.yaml":INV})
case("binary_tag_bad", {"pb.yaml":"- hosts: all\n  vars: {x: !!binary '%%%'}\n  tasks: [{bogus: 1}]\n","inv.yaml":INV})
case("long_key", {"pb.yaml":"- hosts: all\n  "+"k"*2000000+": 1\n  tasks: []\n","inv.yaml":INV})
case("huge_line_value", {"pb.yaml":P("    - debug: msg="+"x"*20000000+"\n    - bogus: 1\n"),"inv.yaml":INV})
case("anchor_undefined", {"pb.yaml":"- hosts: all\n  vars: {x: *nope}\n  tasks: []\n","inv.yaml":INV})
case("alias_cycle_merge", {"pb.yaml":"- hosts: all\n  vars: &v\n    <<: *v\n  tasks: []\n","inv.yaml":INV})
# --- inventory
case("ini_range_huge", {"pb.yaml":P("    - debug: msg=hi\n"),"inv.ini":"[web]\nweb[1:99999999999]\n"},"play pb.yaml -i inv.ini")
case("ini_range_nested_huge", {"pb.yaml":P("    - debug: msg=hi\n"),"inv.ini":"[web]\nw[a:z][1:99999][1:9999]\n"},"play pb.yaml -i inv.ini")
case("ini_range_reverse", {"pb.yaml":P("    - debug: msg=hi\n"),"inv.ini":"[web]\nw[9:1]\n"},"play pb.yaml -i inv.ini")
case("ini_range_step_zero", {"pb.yaml":P("    - debug: msg=hi\n"),"inv.ini":"[web]\nw[1:9:0]\n"},"play pb.yaml -i inv.ini")
case("ini_range_unclosed", {"pb.yaml":P("    - debug: msg=hi\n"),"inv.ini":"[web]\nw[1:9\n"},"play pb.yaml -i inv.ini")
case("ini_children_self", {"pb.yaml":P("    - debug: msg=hi\n"),"inv.ini":"[a:children]\na\n"},"play pb.yaml -i inv.ini")
case("ini_children_all", {"pb.yaml":P("    - debug: msg=hi\n"),"inv.ini":"[ungrouped:children]\nall\n"},"play pb.yaml -i inv.ini")
case("ini_nul", {"pb.yaml":P("    - debug: msg=hi\n"),"inv.ini":"[web]\nh\x00 ansible_port=1\n"},"play pb.yaml -i inv.ini")
case("ini_vars_bad_json", {"pb.yaml":P("    - debug: msg=hi\n"),"inv.ini":"[web]\nh x='[1,2'\n"},"play pb.yaml -i inv.ini")
case("inv_fifo", {"pb.yaml":P("    - debug: msg=hi\n")},"play pb.yaml -i inv.fifo","fifo:inv.fifo")
case("inv_dev_zero", {"pb.yaml":P("    - debug: msg=hi\n")},"play pb.yaml -i /dev/zero")
case("inv_dev_urandom", {"pb.yaml":P("    - debug: msg=hi\n")},"play pb.yaml -i /dev/urandom")
case("group_vars_fifo", {"pb.yaml":P("    - debug: msg=hi\n"),"inv.yaml":INV},"play pb.yaml -i inv.yaml","fifo:group_vars/all.yaml")
case("group_vars_symlink_loop", {"pb.yaml":P("    - debug: msg=hi\n"),"inv.yaml":INV},"play pb.yaml -i inv.yaml","symloop:group_vars/all")
case("inv_dir_symlink_loop", {"pb.yaml":P("    - debug: msg=hi\n")},"play pb.yaml -i invdir","symloopdir:invdir")
case("inv_yaml_children_cycle3", {"pb.yaml":P("    - debug: msg=hi\n"),"inv.yaml":"all:\n  children:\n    a: {children: {b: {}}}\n    b: {children: {c: {}}}\n    c: {children: {a: {}}}\n"})
case("inv_host_is_list", {"pb.yaml":P("    - debug: msg=hi\n"),"inv.yaml":"all:\n  hosts:\n    - a\n"})
case("inv_huge_port", {"pb.yaml":P("    - debug: msg=hi\n"),"inv.yaml":"all:\n  hosts:\n    a: {ansible_port: 1e400}\n"})
case("inv_script_like", {"pb.yaml":P("    - debug: msg=hi\n"),"inv.py":"#!/bin/sh\necho pwned > /tmp/runbook-hostile-pwned\n"},"play pb.yaml -i inv.py","exec:inv.py")
# --- playbook structure
case("role_dep_cycle", {"pb.yaml":"- hosts: all\n  roles: [a]\n","inv.yaml":INV,"roles/a/tasks/main.yml":"- debug: msg=a\n","roles/a/meta/main.yml":"dependencies: [b]\n","roles/b/tasks/main.yml":"- debug: msg=b\n","roles/b/meta/main.yml":"dependencies: [a]\n"})
case("role_self_dep", {"pb.yaml":"- hosts: all\n  roles: [a]\n","inv.yaml":INV,"roles/a/tasks/main.yml":"- debug: msg=a\n","roles/a/meta/main.yml":"dependencies: [a]\n"})
case("import_role_cycle", {"pb.yaml":"- hosts: all\n  roles: [a]\n","inv.yaml":INV,"roles/a/tasks/main.yml":"- import_role: {name: b}\n","roles/b/tasks/main.yml":"- import_role: {name: a}\n"})
case("import_playbook_cycle2", {"pb.yaml":"- import_playbook: b.yaml\n","b.yaml":"- import_playbook: pb.yaml\n","inv.yaml":INV})
case("import_tasks_cycle3", {"pb.yaml":P("    - import_tasks: a.yml\n"),"a.yml":"- import_tasks: b.yml\n","b.yml":"- import_tasks: c.yml\n","c.yml":"- import_tasks: a.yml\n","inv.yaml":INV})
case("import_tasks_fifo", {"pb.yaml":P("    - import_tasks: t.yml\n"),"inv.yaml":INV},"play pb.yaml -i inv.yaml","fifo:t.yml")
case("vars_files_fifo", {"pb.yaml":"- hosts: all\n  vars_files: [v.yml]\n  tasks: []\n","inv.yaml":INV},"play pb.yaml -i inv.yaml","fifo:v.yml")
case("vars_files_dev_zero", {"pb.yaml":"- hosts: all\n  vars_files: [/dev/zero]\n  tasks: []\n","inv.yaml":INV})
case("role_tasks_dev_zero", {"pb.yaml":"- hosts: all\n  roles: [a]\n","inv.yaml":INV},"play pb.yaml -i inv.yaml","devzero:roles/a/tasks/main.yml")
case("playbook_fifo", {"inv.yaml":INV},"play pb.yaml -i inv.yaml","fifo:pb.yaml")
case("with_sequence_huge", {"pb.yaml":P("    - debug: msg={{ .item }}\n      with_sequence: count=99999999999\n"),"inv.yaml":INV})
case("with_sequence_bad", {"pb.yaml":P("    - debug: msg=x\n      with_sequence: start=5 end=1 stride=0\n"),"inv.yaml":INV})
case("loop_range_huge", {"pb.yaml":P("    - debug: msg=x\n      loop: \"{{ range(0, 99999999999) | list }}\"\n"),"inv.yaml":INV})
case("when_regex_catastrophic", {"pb.yaml":P("    - debug: msg=x\n      when: \"'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!' is match('(a+)+$')\"\n"),"inv.yaml":INV})
case("when_regex_bad", {"pb.yaml":P("    - debug: msg=x\n      when: \"'a' is match('(')\"\n"),"inv.yaml":INV})
case("lineinfile_regex_bad", {"pb.yaml":P("    - lineinfile: {path: /tmp/x, regexp: '(', line: a}\n"),"inv.yaml":INV})
case("lineinfile_regex_backref_bomb", {"pb.yaml":P("    - lineinfile: {path: /tmp/x, regexp: '(a*)*\\1b', line: a}\n"),"inv.yaml":INV})
case("replace_regex_lookbehind", {"pb.yaml":P("    - replace: {path: /tmp/x, regexp: '(?<=a)b', replace: c}\n    - bogus: 1\n"),"inv.yaml":INV})
case("expect_regex_bad", {"pb.yaml":P("    - expect: {command: 'true', responses: {'(': 'x'}}\n"),"inv.yaml":INV})
case("template_recursion", {"pb.yaml":P("    - debug: msg='{{ define \"a\" }}{{ template \"a\" }}{{ end }}{{ template \"a\" }}'\n"),"inv.yaml":INV})
case("template_nested_huge_repeat", {"pb.yaml":P("    - debug: msg='{{ repeat 100000 (repeat 100000 \"x\") }}'\n"),"inv.yaml":INV})
case("template_until_huge", {"pb.yaml":P("    - debug: msg='{{ range until 999999999 }}x{{ end }}'\n"),"inv.yaml":INV})
case("template_seq_huge", {"pb.yaml":P("    - debug: msg='{{ seq 1 999999999 }}'\n"),"inv.yaml":INV})
case("template_lookup_file_abs", {"pb.yaml":P("    - debug: msg='{{ lookupFile \"/etc/shadow\" }}'\n"),"inv.yaml":INV})
case("template_lookup_relative_escape", {"pb.yaml":P("    - debug: msg=\"{{ lookup('file', '../../../../etc/shadow') }}\"\n"),"inv.yaml":INV})
case("template_env_lookup_computed", {"pb.yaml":P("    - debug: msg=\"{{ lookup('env', 'HO' + 'ME') }}\"\n"),"inv.yaml":INV})
case("template_pipeline_lookup", {"pb.yaml":P("    - debug: msg=\"{{ lookup('pipe', 'id') }}\"\n"),"inv.yaml":INV})
case("template_src_fifo", {"pb.yaml":P("    - template: {src: t.j2, dest: /tmp/x}\n"),"inv.yaml":INV},"play pb.yaml -i inv.yaml --syntax-check","fifo:t.j2")
case("copy_src_dev_zero", {"pb.yaml":P("    - copy: {src: /dev/zero, dest: /tmp/x}\n"),"inv.yaml":INV},"play pb.yaml -i inv.yaml --syntax-check")
case("vault_password_file_fifo", {"pb.yaml":P("    - debug: msg=x\n"),"inv.yaml":INV},"play pb.yaml -i inv.yaml --vault-password-file pw","fifo:pw")
case("vault_password_dev_zero", {"pb.yaml":P("    - debug: msg=x\n"),"inv.yaml":INV},"play pb.yaml -i inv.yaml --vault-password-file /dev/zero")
case("vault_huge_hex", {"pb.yaml":"- hosts: all\n  vars:\n    x: !vault |\n      $ANSIBLE_VAULT;1.1;AES256\n      "+"zz"*1000+"\n  tasks: []\n","inv.yaml":INV,"pw":"s\n"},"play pb.yaml -i inv.yaml --vault-password-file pw")
case("vault_truncated", {"pb.yaml":"- hosts: all\n  vars:\n    x: !vault |\n      $ANSIBLE_VAULT;1.1;AES256\n      6162\n  tasks: []\n","inv.yaml":INV,"pw":"s\n"},"play pb.yaml -i inv.yaml --vault-password-file pw")
case("extra_vars_deep_json", {"pb.yaml":P("    - debug: msg=x\n"),"inv.yaml":INV},"play pb.yaml -i inv.yaml -e "+"["*30000+"]"*30000)
case("limit_huge_pattern", {"pb.yaml":P("    - debug: msg=x\n"),"inv.yaml":INV},"play pb.yaml -i inv.yaml -l "+":".join(["~(a+)+$"]*200))
case("limit_regex_catastrophic", {"pb.yaml":P("    - debug: msg=x\n"),"inv.yaml":"all:\n  hosts:\n    "+"a"*5000+"!: {ansible_port: %d}\n"%PORT},"play pb.yaml -i inv.yaml -l ~(a+)+$")
case("forks_huge", {"pb.yaml":P("    - debug: msg=x\n"),"inv.yaml":INV},"play pb.yaml -i inv.yaml -f 99999999999999")
case("tags_huge_list", {"pb.yaml":P("    - debug: msg=x\n"),"inv.yaml":INV},"play pb.yaml -i inv.yaml --tags "+",".join(["t"]*20000)+" --list-tasks")
case("convert_fifo", {}, "convert pb.yaml -o out", "fifo:pb.yaml")
case("convert_dev_zero", {}, "convert /dev/zero -o out")
case("convert_bomb", {"pb.yaml":"- hosts: all\n  vars:\n"+"".join("    "+l+"\n" for l in bomb.splitlines())+"  tasks: []\n"}, "convert pb.yaml -o out")
case("inventory_list_bomb", {"inv.yaml":INV+"  vars:\n"+"".join("    "+l+"\n" for l in bomb.splitlines())}, "inventory -i inv.yaml --list")
case("adhoc_module_args_huge", {"inv.yaml":INV}, "run all -i inv.yaml -m bogus -a "+"x=1 "*20000)
case("vault_view_fifo", {"pw":"s\n"}, "vault view v.yml --vault-password-file pw", "fifo:v.yml")
case("vault_view_dev_zero", {"pw":"s\n"}, "vault view /dev/zero --vault-password-file pw")
case("drills_check_dev_zero", {}, "drills check /dev/zero")

only = sys.argv[1:]
bad=0
for name,(files,args,special) in cases.items():
    if only and name not in only: continue
    d=tempfile.mkdtemp()
    for fn,data in files.items():
        p=os.path.join(d,fn); os.makedirs(os.path.dirname(p),exist_ok=True)
        open(p,"wb").write(data if isinstance(data,bytes) else data.encode())
    if special:
        kind,path=special.split(":",1); p=os.path.join(d,path); os.makedirs(os.path.dirname(p),exist_ok=True)
        if kind=="fifo": os.mkfifo(p)
        elif kind=="symloop": os.symlink(p,p)
        elif kind=="symloopdir": os.makedirs(p); os.symlink(p,os.path.join(p,"loop"))
        elif kind=="devzero": os.symlink("/dev/zero",p)
        elif kind=="exec": os.chmod(p,0o755)
    import shlex
    argv=[BIN]+shlex.split(args)
    if argv[1] in ("play","run"): argv+=["--ssh-accept-new","--known-hosts",d+"/kh"]
    h0=hits[0]; t0=time.time()
    try:
        r=subprocess.run(argv,cwd=d,capture_output=True,timeout=30,stdin=subprocess.DEVNULL,env=dict(os.environ,HOME=d))
        out=(r.stdout+r.stderr).decode("utf-8","replace"); code=r.returncode
    except subprocess.TimeoutExpired as e:
        out="HANG"; code="HANG"
    dt=time.time()-t0
    flags=[]
    if code=="HANG": flags.append("HANG")
    if "goroutine " in out or "panic:" in out or "runtime error" in out: flags.append("STACK")
    if hits[0]!=h0: flags.append("CONTACTED")
    if code==0: flags.append("EXIT0")
    if os.path.exists("/tmp/runbook-hostile-pwned"): flags.append("PWNED")
    first=[l for l in out.splitlines() if l.strip()][:2]
    print("%-32s %-5s %5.1fs %-20s %s"%(name,code,dt,",".join(flags)," | ".join(first)[:200])); os.environ.get("SHOW") and print(out[-600:])
    if flags: bad+=1
    shutil.rmtree(d,ignore_errors=True)
print("cases",len(cases),"flagged",bad)
