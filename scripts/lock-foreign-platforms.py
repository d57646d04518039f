#!/usr/bin/env python3
"""
Records in package-lock.json the optional, platform-specific binaries that this network's registry
mirror does not carry (for example @swc/core-darwin-arm64), with their os/cpu/libc, so that `npm ci`
finds the lock in sync with package.json. npm never fetches them on this machine: their platform
does not match, so they are skipped as not installable. Run it after `npm install` changes the lock:

    npm install ... && python3 scripts/lock-foreign-platforms.py
"""
import json
import re
import sys

LOCK = sys.argv[1] if len(sys.argv) > 1 else 'package-lock.json'
CPUS = ['arm64', 'x64', 'ia32', 'arm', 'ppc64', 's390x', 'loong64', 'riscv64']
OSES = ['darwin', 'linux', 'win32', 'android', 'freebsd', 'openharmony']


def platform_of(name):
    tail = name.split('/')[-1]
    os_ = next((o for o in OSES if re.search(rf'(^|-){o}(-|$)', tail)), None)
    cpu = next((c for c in CPUS if re.search(rf'(^|-){c}(-|$)', tail)), None)
    if os_ is None or cpu is None:
        return None
    entry = {'os': [os_], 'cpu': [cpu]}
    if os_ == 'linux':
        entry['libc'] = ['musl'] if 'musl' in tail else ['glibc']
    return entry


lock = json.load(open(LOCK))
packages = lock['packages']
added = []
for path, meta in list(packages.items()):
    for dep, version in (meta.get('optionalDependencies') or {}).items():
        base = path + '/node_modules/' if path else 'node_modules/'
        if base + dep in packages or 'node_modules/' + dep in packages:
            continue
        platform = platform_of(dep)
        if platform is None:
            continue
        entry = {'version': version, 'optional': True, **platform}
        if meta.get('dev'):
            entry['dev'] = True
        packages['node_modules/' + dep] = entry
        added.append(f'{dep}@{version}')
lock['packages'] = dict(sorted(packages.items(), key=lambda item: (item[0] != '', item[0])))
json.dump(lock, open(LOCK, 'w'), indent=2)
open(LOCK, 'a').write('\n')
print(f'recorded {len(added)} foreign-platform optional package(s)' + (': ' + ', '.join(added) if added else ''))
