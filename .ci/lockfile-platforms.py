# Adds lock entries for the platform builds of @duckdb/node-bindings that this machine's registry mirror does not
# serve (404), so `npm ci` accepts the lock here and still installs the right build on macOS and Windows.
# Run after `npm install` changes the DuckDB version: python3 .ci/lockfile-platforms.py package-lock.json
import json,sys
p=sys.argv[1]
lock=json.load(open(p))
pk=lock['packages']
plats={'darwin-arm64':('darwin','arm64',None),'darwin-x64':('darwin','x64',None),'linux-arm64':('linux','arm64','glibc'),'linux-arm64-musl':('linux','arm64','musl'),'win32-arm64':('win32','arm64',None),'win32-x64':('win32','x64',None),'linux-x64':('linux','x64','glibc'),'linux-x64-musl':('linux','x64','musl')}
base=pk['node_modules/@duckdb/node-bindings']
added=[]
for name,ver in base['optionalDependencies'].items():
    key='node_modules/'+name
    if key in pk: continue
    os_,cpu,libc=plats[name.split('node-bindings-')[1]]
    e={'version':ver,'cpu':[cpu],'dev':True,'license':'MIT','optional':True,'os':[os_]}
    if libc: e['libc']=[libc]
    pk[key]=e; added.append(name)

json.dump(lock,open(p,'w'),indent=2); open(p,'a').write('\n')
print('added',added)
