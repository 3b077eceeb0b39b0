// controller/expose: the exposer, which turns a volume or its snapshot into a
// claim a mover Pod in Safehold's namespace can mount, and removes it again.
export { aliasVolumeName, Exposer, nodeUsing, type Exposure, type ExposerDeps } from './exposer.ts';
export { firstConsumerAnnotations, selectedNodeAnnotation } from './first-consumer.ts';
