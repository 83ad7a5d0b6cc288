// deploy/k8s/validate.js: checks what `kubectl kustomize` rendered, offline.
//
//   kubectl kustomize deploy/k8s/overlays/keda | node deploy/k8s/validate.js
//
// 1. Every object against its schema: Kubernetes (kubernetes-models) and
//    KEDA (@kubernetes-models/keda). An object of a kind with no schema
//    here is an error, so nothing passes unchecked.
// 2. What sluice's manifests promise and a schema cannot see: pods locked
//    down (non-root, read-only root, no capabilities, no escalation,
//    RuntimeDefault seccomp, no service-account token, no Service
//    variables in the environment), probes and
//    resources on every container, a worker's grace period longer than
//    its drain, autoscaler targets equal to a worker's slots, and every
//    ConfigMap and Secret a pod names present in the render.
// Needs kubernetes-models@4.5.1, @kubernetes-models/keda@0.4.2 and yaml@2
// (NODE_PATH); deploy/check.sh installs them. Exit 0, or 1 naming each
// object and field that is wrong.
'use strict';

const fs = require('fs');
const YAML = require('yaml');

const MODELS = {
  'v1': 'kubernetes-models/v1',
  'apps/v1': 'kubernetes-models/apps/v1',
  'autoscaling/v2': 'kubernetes-models/autoscaling/v2',
  'policy/v1': 'kubernetes-models/policy/v1',
  'networking.k8s.io/v1': 'kubernetes-models/networking.k8s.io/v1',
  'batch/v1': 'kubernetes-models/batch/v1',
  'keda.sh/v1alpha1': '@kubernetes-models/keda/keda.sh/v1alpha1',
};

const problems = [];
const say = (obj, what) =>
  problems.push(`${obj.kind}/${(obj.metadata || {}).name}: ${what}`);

function checkSchema(obj) {
  // kustomize folds a long Secret value over several lines; the API server
  // reads base64 without its line breaks, the schema's "byte" does not
  if (obj.kind === 'Secret' && obj.data)
    for (const k of Object.keys(obj.data))
      obj.data[k] = String(obj.data[k]).replace(/[\r\n]/g, '');
  const module = MODELS[obj.apiVersion];
  const Model = module && require(module)[obj.kind];
  if (!Model) {
    say(obj, `no schema for ${obj.apiVersion} ${obj.kind}`);
    return;
  }
  try {
    new Model(obj).validate();
  } catch (e) {
    for (const err of e.errors || [{ instancePath: '', message: e.message }])
      say(obj, `${err.instancePath || '/'} ${err.message}`);
  }
}

// The value of --name=VALUE in a container's args, or undefined.
function arg(container, name) {
  const prefix = `--${name}=`;
  const found = (container.args || []).find((a) => a.startsWith(prefix));
  return found === undefined ? undefined : found.slice(prefix.length);
}

function checkPod(obj, pod, names) {
  const isServer = obj.kind !== 'Job'; // a Job's pod serves nothing
  const sc = pod.securityContext || {};
  if (sc.runAsNonRoot !== true) say(obj, 'pod runAsNonRoot is not true');
  if (!sc.seccompProfile || sc.seccompProfile.type !== 'RuntimeDefault')
    say(obj, 'pod seccompProfile is not RuntimeDefault');
  if (pod.automountServiceAccountToken !== false)
    say(obj, 'pod mounts a service-account token');
  // Services named sluice-* would put SLUICE_*_PORT... variables into the
  // environment, the prefix of sluice's own settings
  if (pod.enableServiceLinks !== false)
    say(obj, 'pod enableServiceLinks is not false');
  for (const c of pod.containers) {
    const csc = c.securityContext || {};
    if (csc.readOnlyRootFilesystem !== true)
      say(obj, `container ${c.name}: root filesystem not read-only`);
    if (csc.allowPrivilegeEscalation !== false)
      say(obj, `container ${c.name}: privilege escalation allowed`);
    const drop = (csc.capabilities || {}).drop || [];
    if (!drop.includes('ALL'))
      say(obj, `container ${c.name}: capabilities not dropped (ALL)`);
    if (isServer && (!c.livenessProbe || !c.readinessProbe))
      say(obj, `container ${c.name}: no liveness or readiness probe`);
    const res = c.resources || {};
    if (!res.requests || !res.requests.cpu || !res.requests.memory ||
        !res.limits || !res.limits.memory)
      say(obj, `container ${c.name}: no cpu/memory requests or memory limit`);
    const grace = arg(c, 'grace-ms');
    if (grace !== undefined &&
        (pod.terminationGracePeriodSeconds || 30) * 1000 < Number(grace) + 5000)
      say(obj, `container ${c.name}: terminationGracePeriodSeconds ` +
        `${pod.terminationGracePeriodSeconds} does not cover --grace-ms=` +
        `${grace} and 5 s more`);
    for (const from of c.envFrom || [])
      if (from.configMapRef && !names.ConfigMap.has(from.configMapRef.name))
        say(obj, `container ${c.name}: no ConfigMap ${from.configMapRef.name}`);
    for (const env of c.env || []) {
      const ref = (env.valueFrom || {}).secretKeyRef;
      if (ref && !names.Secret.has(ref.name))
        say(obj, `container ${c.name}: env ${env.name}: no Secret ${ref.name}`);
    }
  }
  for (const v of pod.volumes || []) {
    if (v.secret && !names.Secret.has(v.secret.secretName))
      say(obj, `volume ${v.name}: no Secret ${v.secret.secretName}`);
    if (v.configMap && !names.ConfigMap.has(v.configMap.name))
      say(obj, `volume ${v.name}: no ConfigMap ${v.configMap.name}`);
  }
}

// An autoscaler's per-pod target must be the workers' --slots: then
// replicas = ceil(outstanding tasks / slots).
function checkScaler(obj, target, workerSlots) {
  if (workerSlots === undefined) {
    say(obj, 'scales a Deployment sluice-worker the render does not hold');
  } else if (String(target) !== String(workerSlots)) {
    say(obj, `target ${target} is not the workers' --slots=${workerSlots}`);
  }
}

function main() {
  const file = process.argv[2];
  const text = fs.readFileSync(file || 0, 'utf8');
  const docs = YAML.parseAllDocuments(text);
  const objects = [];
  for (const doc of docs) {
    if (doc.errors.length) {
      problems.push(`YAML: ${doc.errors[0].message}`);
      continue;
    }
    const obj = doc.toJS();
    if (obj) objects.push(obj);
  }
  if (objects.length === 0) problems.push('no objects in the input');
  const names = { ConfigMap: new Set(), Secret: new Set() };
  for (const obj of objects)
    if (names[obj.kind]) names[obj.kind].add(obj.metadata.name);

  let workerSlots;
  for (const obj of objects) {
    if (obj.kind === 'Deployment' && obj.metadata.name === 'sluice-worker')
      workerSlots = arg(obj.spec.template.spec.containers[0], 'slots');
  }
  for (const obj of objects) {
    checkSchema(obj);
    const pod = ((obj.spec || {}).template || {}).spec;
    if (pod && pod.containers) checkPod(obj, pod, names);
    if (obj.kind === 'HorizontalPodAutoscaler')
      checkScaler(obj, obj.spec.metrics[0].external.target.averageValue,
        workerSlots);
    if (obj.kind === 'ScaledObject')
      checkScaler(obj, obj.spec.triggers[0].metadata.targetValue, workerSlots);
  }
  for (const p of problems) console.error(`${file || 'stdin'}: ${p}`);
  if (problems.length) process.exit(1);
  console.log(`${file || 'stdin'}: ${objects.length} objects valid`);
}

main();
