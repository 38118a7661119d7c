import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bestRoute, leadsTo, parseRoutes } from './routes.js';

const ROUTES = parseRoutes(
  JSON.stringify([
    { dst: 'default', gateway: '172.31.1.254', dev: 'eth0', flags: [] },
    {
      dst: '10.244.125.128/26',
      gateway: '172.31.2.1',
      dev: 'vxlan.calico',
      protocol: '80',
      flags: ['onlink'],
    },
    { dst: '10.244.146.128/26', gateway: '172.31.1.3', dev: 'eth0', protocol: 'bird' },
    { dst: '10.244.7.0/26', type: 'blackhole', protocol: 'bird', flags: [] },
    { dst: '10.244.7.5', dev: 'calia7a3e029a7b', scope: 'link', flags: [] },
    { dst: '172.31.1.0/24', dev: 'eth0', protocol: 'kernel', scope: 'link', prefsrc: '172.31.1.1' },
    { nodst: true },
  ]),
);

describe('cluster route checks', () => {
  test('parses ip -j route, keeping destination, gateway, device, type and protocol', () => {
    assert.equal(ROUTES.length, 6);
    assert.deepEqual(ROUTES[3], { dst: '10.244.7.0/26', type: 'blackhole', protocol: 'bird' });
    assert.deepEqual(parseRoutes(''), []);
  });

  test('longest prefix match', () => {
    assert.equal(bestRoute(ROUTES, '10.244.125.130')?.dst, '10.244.125.128/26');
    assert.equal(bestRoute(ROUTES, '10.244.7.5')?.dst, '10.244.7.5');
    assert.equal(bestRoute(ROUTES, '10.244.7.6')?.dst, '10.244.7.0/26');
    assert.equal(bestRoute(ROUTES, '10.9.9.9')?.dst, 'default');
    assert.equal(bestRoute(ROUTES, 'not an ip'), undefined);
  });

  test('a route leads to a node through VXLAN or with the node as gateway, never by default', () => {
    assert.equal(leadsTo(bestRoute(ROUTES, '10.244.125.130'), '172.31.2.1'), true);
    assert.equal(leadsTo(bestRoute(ROUTES, '10.244.146.130'), '172.31.1.3'), true);
    assert.equal(leadsTo(bestRoute(ROUTES, '10.244.146.130'), '172.31.1.2'), false);
    assert.equal(leadsTo(bestRoute(ROUTES, '10.9.9.9'), '172.31.1.254'), false);
    assert.equal(leadsTo(bestRoute(ROUTES, '10.244.7.6'), '172.31.1.2'), false);
    assert.equal(leadsTo(undefined, '172.31.1.2'), false);
  });
});
