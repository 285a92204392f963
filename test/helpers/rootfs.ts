export { makeBusyboxRootfs, busyboxApplets, BUSYBOX } from "../../src/images/busybox-rootfs.js";
