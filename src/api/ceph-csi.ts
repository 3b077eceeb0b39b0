// ceph-csi's CSI driver names: what marks a PV as an RBD image or a CephFS
// folder that Safehold can read with Ceph's own tools (rbd diff, .snap).
export const rbdCsiDriver = 'rbd.csi.ceph.com';
export const cephfsCsiDriver = 'cephfs.csi.ceph.com';
