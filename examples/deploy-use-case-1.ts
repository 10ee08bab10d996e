/**
 * The original Cluster Lab's "Use Case 1" on a Cluster Lab swarm: create an overlay network,
 * run a web server pinned to one node, and fetch it *by name* from a container on the node this
 * script runs on — proving that overlay networking and service discovery work across nodes.
 *
 * The original used classic Swarm (`--env constraint:node==node2`, `docker -H tcp://…:2378`);
 * this uses swarm mode through the Docker API's unix socket (never TCP), with dockerode.
 *
 * Run on a manager node other than the server node (as root, or as a member of the docker group):
 *
 *   node examples/deploy-use-case-1.ts --server-node pi2
 *
 * In the virtual lab (`lab exec` points DOCKER_HOST at that node's dockerd):
 *
 *   npx cluster-lab lab exec node3 -- node examples/deploy-use-case-1.ts --server-node node2
 *
 * Options: --image (default: the lab's cluster-lab/busybox:latest when present, else busybox:latest),
 * --network (my-net), --keep (leave the service and network running).
 */
import { parseArgs } from 'node:util';
import Docker from 'dockerode';

const LAB_IMAGE = 'cluster-lab/busybox:latest';

const { values } = parseArgs({
  options: {
    'server-node': { type: 'string', default: 'node2' },
    image: { type: 'string' },
    network: { type: 'string', default: 'my-net' },
    keep: { type: 'boolean', default: false },
  },
});
const serverNode = values['server-node'];
const networkName = values.network;

// No options: docker-modem honours DOCKER_HOST (unix://…) and otherwise uses /var/run/docker.sock.
const docker = new Docker();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function hasImage(name: string): Promise<boolean> {
  try {
    await docker.getImage(name).inspect();
    return true;
  } catch {
    return false;
  }
}

async function ensureImage(name: string): Promise<void> {
  if (await hasImage(name)) return;
  console.log(`pulling ${name} …`);
  const stream = await docker.pull(name);
  await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (error) => (error ? reject(error) : resolve())));
}

async function ensureNetwork(): Promise<void> {
  const existing = await docker.listNetworks({ filters: { name: [networkName] } });
  if (existing.some((n) => n.Name === networkName)) return;
  // Attachable, so a plain container (not only service tasks) can join it, as in the original.
  await docker.createNetwork({ Name: networkName, Driver: 'overlay', Attachable: true, CheckDuplicate: true });
}

async function startWebService(image: string): Promise<Docker.Service> {
  const old = (await docker.listServices({ filters: { name: ['web'] } })).find((s) => s.Spec?.Name === 'web');
  if (old) await docker.getService(old.ID).remove();
  return docker.createService({
    Name: 'web',
    TaskTemplate: {
      ContainerSpec: {
        Image: image,
        // Swarm expands the template, so the page says which node served it.
        Hostname: '{{.Node.Hostname}}',
        Command: [
          'sh',
          '-c',
          'mkdir -p /var/www && echo "hello from $(hostname)" > /var/www/index.html && exec httpd -f -p 80 -h /var/www',
        ],
      },
      Placement: { Constraints: [`node.hostname == ${serverNode}`] },
      Networks: [{ Target: networkName }],
    },
    // DNS round robin instead of a virtual IP: works on kernels without IPVS (like the virtual lab's).
    EndpointSpec: { Mode: 'dnsrr' },
  });
}

async function waitForRunningTask(service: Docker.Service, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const tasks = await docker.listTasks({ filters: { service: [service.id] } });
    if (tasks.some((t) => t.Status?.State === 'running')) return;
    const failed = tasks.find((t) => t.Status?.State === 'failed' || t.Status?.State === 'rejected');
    if (failed) throw new Error(`web task ${failed.Status.State}: ${failed.Status.Err ?? 'no reason given'}`);
    if (Date.now() > deadline) throw new Error(`web service not running on ${serverNode} after ${timeoutMs / 1000} s`);
    await sleep(500);
  }
}

/** `docker run --rm --net=my-net <image> wget -q -O- http://web` on this node. */
async function fetchFromHere(image: string): Promise<{ exitCode: number; output: string }> {
  const container = await docker.createContainer({
    Image: image,
    // No `-T <timeout>`: Debian's busybox-static wget crashes (SIGSEGV) with it.
    Cmd: ['wget', '-q', '-O-', 'http://web'],
    Tty: true, // plain (not multiplexed) log output
    HostConfig: { NetworkMode: networkName },
  });
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const output = (await container.logs({ stdout: true, stderr: true })).toString('utf8').trim();
    return { exitCode: StatusCode, output };
  } finally {
    await container.remove({ force: true });
  }
}

const image = values.image ?? ((await hasImage(LAB_IMAGE)) ? LAB_IMAGE : 'busybox:latest');
const info = await docker.info();
console.log(`on ${info.Name}: web server on ${serverNode}, image ${image}, network ${networkName}`);
await ensureImage(image);
await ensureNetwork();
const service = await startWebService(image);
try {
  await waitForRunningTask(service);
  // The name appears in the overlay's DNS shortly after the task starts: retry briefly.
  let result = { exitCode: -1, output: '' };
  for (let attempt = 1; attempt <= 10 && result.exitCode !== 0; attempt++) {
    result = await fetchFromHere(image);
    if (result.exitCode !== 0) await sleep(1000);
  }
  if (result.exitCode !== 0) throw new Error(`fetching http://web from ${info.Name} failed: ${result.output}`);
  console.log(`fetched http://web from ${info.Name}: ${result.output}`);
} finally {
  if (!values.keep) {
    await service.remove();
    // The network stays busy until the task's endpoint is gone.
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        await docker.getNetwork(networkName).remove();
        break;
      } catch {
        await sleep(500);
      }
    }
  }
}
