import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configVersion, parseNetConf } from './netconf.js';
import { CniCode } from './spec.js';
import {
  CALICO_ARG_SCHEMAS,
  CALICO_IPAM_ARG_SCHEMAS,
  IPAM_ARGS,
  K8S_ARGS,
  goQuote,
  loadAllCniArgs,
  loadCniArgs,
  parseInvocation,
  withArgs,
  workloadOf,
} from './invocation.js';

const parse = (doc: unknown, env: Record<string, string> = {}) => parseNetConf(JSON.stringify(doc), env);

describe('network config', () => {
  it("applies Calico's defaults and calico-ts's documented ones", () => {
    const r = parse({ name: 'k8s-pod-network', type: 'calico', ipam: { type: 'calico-ipam' } });
    assert.ok(r.ok);
    const c = r.value;
    assert.equal(c.cniVersion, '0.2.0');
    assert.equal(c.logFilePath, '/var/log/calico/cni/cni.log');
    assert.equal(c.logLevel, 'info');
    assert.equal(c.ipamLockFile, '/var/run/calico/ipam.lock');
    assert.equal(c.endpointStatusDir, '/var/run/calico/endpoint-status');
    assert.equal(c.policySetupTimeoutSeconds, 30);
    assert.equal(c.nodenameFile, '/var/lib/calico/nodename');
    assert.equal(c.mtu, undefined);
    assert.deepEqual(
      [c.ipam.assignIpv4, c.ipam.assignIpv6, c.ipam.ipv4Pools, c.ipam.ipv6Pools],
      [true, false, [], []],
    );
    assert.deepEqual(c.datastore, { datastoreType: 'embedded', datastorePath: '/var/lib/calico/calico.db' });
  });

  it("accepts Calico's string booleans and the datastore fields", () => {
    const r = parse({
      name: 'net',
      type: 'calico',
      cniVersion: '1.0.0',
      nodename: 'n1',
      mtu: 0,
      datastore_type: 'etcdv3',
      etcd_endpoints: 'http://127.0.0.1:2379',
      ipam: { type: 'calico-ipam', assign_ipv4: 'false', assign_ipv6: 'true', ipv6_pools: ['fd00::/64'] },
      container_settings: { allow_ip_forwarding: true },
      feature_control: { floating_ips: true },
      log_level: 'WARNING',
    });
    assert.ok(r.ok);
    assert.equal(r.value.nodename, 'n1');
    assert.equal(r.value.mtu, 0);
    assert.equal(r.value.ipam.assignIpv4, false);
    assert.equal(r.value.ipam.assignIpv6, true);
    assert.deepEqual(r.value.ipam.ipv6Pools, ['fd00::/64']);
    assert.equal(r.value.allowIpForwarding, true);
    assert.equal(r.value.featureFloatingIps, true);
    assert.equal(r.value.logLevel, 'warning');
    assert.deepEqual(r.value.datastore, {
      datastoreType: 'etcdv3',
      etcd: { endpoints: ['http://127.0.0.1:2379'] },
    });
  });

  it('lets the config win over the environment for the datastore', () => {
    const r = parse(
      { name: 'n', type: 'calico', datastore_type: 'embedded', datastore_path: '/tmp/x.db' },
      { CALICO_DATASTORE_TYPE: 'etcdv3', ETCD_ENDPOINTS: 'http://127.0.0.1:1' },
    );
    assert.ok(r.ok);
    assert.deepEqual(r.value.datastore, { datastoreType: 'embedded', datastorePath: '/tmp/x.db' });
  });

  it("takes the Kubernetes datastore's kubeconfig from kubernetes.kubeconfig, else $KUBECONFIG", () => {
    const conf = { name: 'n', type: 'calico', datastore_type: 'kubernetes' };
    const own = parse(
      { ...conf, kubernetes: { kubeconfig: '/etc/cni/net.d/calico-kubeconfig' } },
      {
        KUBECONFIG: '/root/.kube/config',
      },
    );
    assert.ok(own.ok);
    assert.deepEqual(own.value.datastore, {
      datastoreType: 'kubernetes',
      kubeconfig: '/etc/cni/net.d/calico-kubeconfig',
    });
    const fromEnv = parse(conf, { KUBECONFIG: '/root/.kube/config' });
    assert.ok(fromEnv.ok);
    assert.deepEqual(fromEnv.value.datastore, {
      datastoreType: 'kubernetes',
      kubeconfig: '/root/.kube/config',
    });
    const none = parse(conf);
    assert.ok(none.ok);
    assert.deepEqual(none.value.datastore, { datastoreType: 'kubernetes' });
    const bad = parse({ ...conf, kubernetes: { kubeconfig: 7 } });
    assert.ok(!bad.ok && /kubernetes\.kubeconfig: expected a string/.test(bad.error.details ?? ''));
  });

  it('accepts host:port and unix-socket etcd endpoints, and rejects others', () => {
    const with_ = (etcd_endpoints: string) =>
      parse({ name: 'n', type: 'calico', datastore_type: 'etcdv3', etcd_endpoints });
    assert.ok(with_('https://10.0.0.1:2379,127.0.0.1:2379').ok);
    assert.ok(with_('unix:///run/etcd/etcd.sock').ok);
    const bad = with_('etcd.example');
    assert.ok(!bad.ok && /invalid etcd endpoint/.test(bad.error.details ?? ''));
  });

  it('names every badly typed field at once (code 7)', () => {
    const r = parse({ name: 'n', type: 'calico', mtu: 'big', ipam: { assign_ipv4: 3 }, log_level: 'loud' });
    assert.ok(!r.ok);
    assert.equal(r.error.cniCode, CniCode.invalidConfig);
    for (const field of ['mtu', 'ipam.assign_ipv4', 'log_level'])
      assert.match(r.error.details ?? '', new RegExp(field.replace('.', '\\.')));
  });

  it('requires name and type, and a valid network name', () => {
    const r = parse({ name: 'bad name!' });
    assert.ok(!r.ok);
    assert.match(r.error.details ?? '', /invalid network name/);
    assert.match(r.error.details ?? '', /type: required/);
  });

  it('reads prevResult and GC attachments; bad JSON is code 6', () => {
    const r = parse({
      name: 'n',
      type: 'calico',
      prevResult: { ips: [] },
      'cni.dev/valid-attachments': [{ containerID: 'a', ifname: 'eth0' }],
    });
    assert.ok(r.ok);
    assert.deepEqual(r.value.prevResult, { ips: [] });
    assert.deepEqual(r.value.validAttachments, [{ containerID: 'a', ifname: 'eth0' }]);
    const bad = parseNetConf('{', {});
    assert.ok(!bad.ok);
    assert.equal(bad.error.cniCode, CniCode.decodingFailure);
  });

  it('reads only the version for VERSION, defaulting to 0.2.0', () => {
    assert.deepEqual(configVersion(''), { ok: true, value: '0.2.0' });
    assert.deepEqual(configVersion('{"cniVersion":"1.1.0"}'), { ok: true, value: '1.1.0' });
    assert.equal(configVersion('{"cniVersion":1}').ok, false);
  });
});

describe('CNI environment', () => {
  const base = {
    CNI_CONTAINERID: 'abc',
    CNI_NETNS: '/var/run/netns/x',
    CNI_IFNAME: 'eth0',
    CNI_PATH: '/opt/cni/bin',
  };

  it('lists the missing variables per command (code 4)', () => {
    const r = parseInvocation({ CNI_COMMAND: 'ADD', CNI_PATH: '/x' });
    assert.ok(!r.ok);
    assert.equal(r.error.cniCode, CniCode.invalidEnvironment);
    assert.equal(r.error.message, 'required env variables [CNI_CONTAINERID CNI_NETNS CNI_IFNAME] missing');
    assert.ok(
      parseInvocation({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'a', CNI_IFNAME: 'eth0', CNI_PATH: '/x' }).ok,
    );
    assert.ok(parseInvocation({ CNI_COMMAND: 'GC', CNI_PATH: '/x' }).ok);
    assert.ok(parseInvocation({ CNI_COMMAND: 'VERSION' }).ok);
    const unknown = parseInvocation({ CNI_COMMAND: 'FROB' });
    assert.ok(!unknown.ok && /unknown CNI_COMMAND/.test(unknown.error.message));
  });

  it('validates the container ID and interface name', () => {
    const badId = parseInvocation({ ...base, CNI_COMMAND: 'ADD', CNI_CONTAINERID: '-x' });
    assert.ok(!badId.ok && badId.error.message === 'invalid characters in containerID');
    const longIf = parseInvocation({ ...base, CNI_COMMAND: 'ADD', CNI_IFNAME: 'a'.repeat(16) });
    assert.ok(!longIf.ok && /too long/.test(longIf.error.message));
    const slash = parseInvocation({ ...base, CNI_COMMAND: 'ADD', CNI_IFNAME: 'a/b' });
    assert.ok(!slash.ok);
  });

  it('reads the pod identity from CNI_ARGS', () => {
    assert.deepEqual(
      loadCniArgs('IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p;K8S_POD_UID=u', K8S_ARGS),
      {
        ok: true,
        value: { IgnoreUnknown: '1', K8S_POD_NAMESPACE: 'ns', K8S_POD_NAME: 'p' },
      },
    );
    const env = parseInvocation({
      ...base,
      CNI_COMMAND: 'ADD',
      CNI_ARGS: 'K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p',
    });
    assert.ok(env.ok);
    const inv = withArgs(env.value, CALICO_ARG_SCHEMAS);
    assert.ok(inv.ok);
    assert.deepEqual(workloadOf(inv.value), { kind: 'k8s', namespace: 'ns', pod: 'p' });
    const noPod = parseInvocation({ ...base, CNI_COMMAND: 'ADD' });
    assert.ok(noPod.ok);
    const bare = withArgs(noPod.value, CALICO_ARG_SCHEMAS);
    assert.ok(bare.ok);
    assert.deepEqual(workloadOf(bare.value), { kind: 'cni' });
  });

  it("refuses malformed CNI_ARGS pairs with libcni's messages (code 999, as Calico)", () => {
    const refused = (text: string, schemas = [K8S_ARGS]): string => {
      const r = loadAllCniArgs(text, schemas);
      assert.ok(!r.ok, text);
      assert.equal(r.error.cniCode, CniCode.internal, text);
      return r.error.message;
    };
    assert.equal(refused('K8S_POD_NAME=p;junk'), 'ARGS: invalid pair "junk"');
    assert.equal(refused('K8S_POD_NAME=a=b'), 'ARGS: invalid pair "K8S_POD_NAME=a=b"');
    assert.equal(refused('IgnoreUnknown=1;K8S_POD_NAME=p;'), 'ARGS: invalid pair ""', 'a trailing ;');
    assert.equal(refused('K8S_POD_NAME=p;;IP=10.0.0.1'), 'ARGS: invalid pair ""');
    assert.equal(refused('x\ty"\\'), 'ARGS: invalid pair "x\\ty\\"\\\\"');
    assert.equal(
      refused('IgnoreUnknown=maybe'),
      'ARGS: error parsing value of pair "IgnoreUnknown=maybe": boolean unmarshal error: invalid input maybe',
    );
    assert.equal(
      refused('IP=10.0.0.300'),
      'ARGS: error parsing value of pair "IP=10.0.0.300": invalid IP address: 10.0.0.300',
    );
    // A malformed pair is refused even when IgnoreUnknown is set; an unknown key only without it.
    assert.equal(refused('IgnoreUnknown=1;oops'), 'ARGS: invalid pair "oops"');
    assert.equal(refused('FOO=1;K8S_POD_NAME=p;BAR=2'), 'ARGS: unknown args ["FOO=1" "BAR=2"]');
    assert.equal(refused(' K8S_POD_NAME=p'), 'ARGS: unknown args [" K8S_POD_NAME=p"]', 'no trimming');
    assert.ok(loadCniArgs('FOO=1;IgnoreUnknown=true', K8S_ARGS).ok, 'IgnoreUnknown anywhere in the list');
    assert.ok(loadCniArgs('', K8S_ARGS).ok);
    assert.deepEqual(loadCniArgs('IP=10.0.0.1,fd00::1;K8S_POD_NAME=', K8S_ARGS), {
      ok: true,
      value: { IP: '10.0.0.1,fd00::1', K8S_POD_NAME: '' },
    });
    // calico-ipam reads K8sArgs and then its own ipamArgs, which has no pod keys.
    assert.equal(
      refused('K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p', [K8S_ARGS, IPAM_ARGS]),
      'ARGS: unknown args ["K8S_POD_NAMESPACE=ns" "K8S_POD_NAME=p"]',
    );
    assert.equal(refused('FOO=1', [K8S_ARGS, IPAM_ARGS]), 'ARGS: unknown args ["FOO=1"]');
    assert.ok(loadAllCniArgs('IgnoreUnknown=1;K8S_POD_NAME=p;IP=10.0.0.1', [K8S_ARGS, IPAM_ARGS]).ok);
    assert.equal(goQuote('a\x00\x7f\u00e9\n'), '"a\\x00\\x7f\u00e9\\n"');
  });

  it("reads calico-ipam's own arguments only for ADD, as Calico", () => {
    const env = (command: string) => {
      const e = parseInvocation({ ...base, CNI_COMMAND: command, CNI_ARGS: 'K8S_POD_NAME=p' });
      assert.ok(e.ok);
      return e.value;
    };
    const add = withArgs(env('ADD'), CALICO_IPAM_ARG_SCHEMAS);
    assert.ok(!add.ok && add.error.message === 'ARGS: unknown args ["K8S_POD_NAME=p"]');
    assert.ok(withArgs(env('DEL'), CALICO_IPAM_ARG_SCHEMAS).ok);
    assert.ok(withArgs(env('ADD'), CALICO_ARG_SCHEMAS).ok);
  });

  it('reads CNI_ARGS only for the commands about one container', () => {
    for (const command of ['GC', 'STATUS']) {
      const env = parseInvocation({ CNI_COMMAND: command, CNI_PATH: '/x', CNI_ARGS: 'junk' });
      assert.ok(env.ok);
      assert.ok(withArgs(env.value, CALICO_ARG_SCHEMAS).ok, command);
    }
    for (const command of ['ADD', 'DEL', 'CHECK']) {
      const env = parseInvocation({ ...base, CNI_COMMAND: command, CNI_ARGS: 'junk' });
      assert.ok(env.ok);
      assert.ok(!withArgs(env.value, CALICO_ARG_SCHEMAS).ok, command);
    }
  });
});
