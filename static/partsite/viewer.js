// The part page's 3D view: the revision's GLB with orbit, zoom, pan, fit to view and wireframe.
import * as THREE from "three";
import { OrbitControls } from "three/addons/controls/OrbitControls.js";
import { GLTFLoader } from "three/addons/loaders/GLTFLoader.js";
import { MeshoptDecoder } from "three/addons/libs/meshopt_decoder.module.js";

const host = document.querySelector(".viewer[data-model-url]");
const canvas = host.querySelector("canvas");
const statusLine = host.querySelector(".viewer-status");
const panel = host.closest(".viewer-panel");

function fail(message) {
  host.dataset.state = "error";
  statusLine.textContent = message;
}

let renderer;
try {
  renderer = new THREE.WebGLRenderer({ canvas, antialias: true, preserveDrawingBuffer: true });
} catch (error) {
  fail("This browser cannot show 3D (WebGL is off). Download the STEP file instead.");
  throw error;
}
renderer.setPixelRatio(Math.min(window.devicePixelRatio, 2));

const scene = new THREE.Scene();
scene.background = new THREE.Color(0xeef2f6);
scene.add(new THREE.HemisphereLight(0xffffff, 0x8d99a6, 1.7));
const sun = new THREE.DirectionalLight(0xffffff, 1.8);
scene.add(sun);

const camera = new THREE.PerspectiveCamera(40, 1, 0.1, 1000);
const controls = new OrbitControls(camera, canvas);
controls.enableDamping = false;
controls.listenToKeyEvents(canvas); // arrow keys pan once the view has focus
controls.addEventListener("change", render);

let model = null;
let wireframe = false;
const outline = new THREE.LineBasicMaterial({ color: 0x1f2937, transparent: true, opacity: 0.55 });

function render() {
  sun.position.copy(camera.position);
  renderer.render(scene, camera);
}

function resize() {
  const { clientWidth: width, clientHeight: height } = host;
  if (!width || !height) return;
  renderer.setSize(width, height, false);
  camera.aspect = width / height;
  camera.updateProjectionMatrix();
  render();
}

function fit() {
  if (!model) return;
  const box = new THREE.Box3().setFromObject(model);
  const size = box.getSize(new THREE.Vector3());
  const centre = box.getCenter(new THREE.Vector3());
  const radius = Math.max(size.length() / 2, 1e-6);
  const distance = radius / Math.sin(THREE.MathUtils.degToRad(camera.fov / 2)) * 1.05;
  const direction = new THREE.Vector3(1, 0.8, 1.2).normalize();
  camera.position.copy(centre).addScaledVector(direction, distance);
  camera.near = distance / 100;
  camera.far = distance * 100;
  camera.updateProjectionMatrix();
  controls.target.copy(centre);
  controls.update();
  render();
}

function setWireframe(on) {
  wireframe = on;
  model.traverse((node) => {
    if (node.isMesh) {
      for (const material of [].concat(node.material)) material.wireframe = on;
    }
  });
  outline.visible = !on;
  render();
}

function sizeInMillimetres(box) {
  // GLB is in metres; the server's measurement (bbox_mm) is preferred when it has one.
  const known = (host.dataset.bbox || "").split(",").filter(Boolean).map(Number);
  if (known.length === 3) return known;
  const size = box.getSize(new THREE.Vector3());
  return [size.x * 1000, size.y * 1000, size.z * 1000];
}

new ResizeObserver(resize).observe(host);
resize();

// Large models are served meshopt-compressed (files.compact); small ones as converted.
function modelLoader() {
  return new GLTFLoader().setMeshoptDecoder(MeshoptDecoder);
}

// The model as the page draws it: its own colours, softened, with its sharp edges outlined.
function prepared(gltf) {
  const prepared = gltf.scene;
  const meshes = [];
  prepared.traverse((node) => {
    if (node.isMesh) meshes.push(node);
  });
  for (const mesh of meshes) {
    if (!mesh.material?.isMeshStandardMaterial) {
      mesh.material = new THREE.MeshStandardMaterial({ color: 0x9fb3c8 });
    }
    // glTF's default is fully metallic, which looks flat and dark without reflections to show.
    mesh.material.metalness = Math.min(mesh.material.metalness, 0.25);
    mesh.material.roughness = Math.max(mesh.material.roughness, 0.55);
    mesh.material.side = THREE.DoubleSide;
    mesh.material.polygonOffset = true; // keep the outline drawn on top of the faces
    mesh.material.polygonOffsetFactor = 1;
    mesh.material.polygonOffsetUnits = 1;
    // The model's sharp edges, as a CAD program draws them.
    const edges = new THREE.LineSegments(new THREE.EdgesGeometry(mesh.geometry, 30), outline);
    edges.userData.outline = true;
    mesh.add(edges);
  }
  return prepared;
}

// Show a loaded model in place of the one shown, if any (keeping the camera the person has set).
function show(gltf, detail) {
  const first = !model;
  if (model) scene.remove(model);
  model = prepared(gltf);
  scene.add(model);
  if (wireframe) setWireframe(true);
  if (first) fit();
  else render();
  const [x, y, z] = sizeInMillimetres(new THREE.Box3().setFromObject(model));
  panel.querySelector('[data-viewer="size"]').textContent = `${x.toFixed(1)} × ${y.toFixed(1)} × ${z.toFixed(1)} mm`;
  host.dataset.detail = detail;
  host.dataset.state = "ready";
}

// A large model has a coarse version (files.compact): drawn first, then replaced by the full model, which is
// fetched only once the coarse one is drawn so that the two do not compete for the network and the main thread.
function loadModel() {
  const loader = modelLoader();
  const loadFull = () => loader.load(
    host.dataset.modelUrl,
    (gltf) => show(gltf, "full"),
    undefined,
    () => fail("The 3D model could not be loaded. Reload the page to try again."),
  );
  if (!host.dataset.coarseUrl) {
    loadFull();
    return;
  }
  loader.load(
    host.dataset.coarseUrl,
    (gltf) => {
      show(gltf, "coarse");
      requestAnimationFrame(() => requestAnimationFrame(loadFull));
    },
    undefined,
    loadFull,
  );
}

loadModel();

panel.querySelector('[data-viewer="fit"]').addEventListener("click", fit);
const wireframeButton = panel.querySelector('[data-viewer="wireframe"]');
wireframeButton.addEventListener("click", () => {
  if (!model) return;
  setWireframe(!wireframe);
  wireframeButton.setAttribute("aria-pressed", String(wireframe));
});
