// Placeholder: the headless CLI (`bosh-etcd recover …`) fills this in.
console.error('bosh-etcd: not implemented yet');
process.exit(2);
