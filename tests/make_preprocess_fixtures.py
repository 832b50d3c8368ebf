#!/usr/bin/python3
"""Write photographs and the tensors torchvision's and timm's evaluation transforms make of them,
for the preprocessing tests (test_preprocess.cpp, Preprocess.*).

The photographs are Debian's python3-skimage sample images (skimage.data: astronaut 512x512,
coffee 400x600, chelsea 300x451, rocket 427x640) and two crops of them with odd sides (383x511,
and 149x201, which the resize enlarges). The transforms, on PIL images as both libraries
evaluate:

* torchvision (ImageNet weights, references/classification/presets.py ClassificationPresetEval):
  Resize(256, BILINEAR) -> CenterCrop(224) -> ToTensor -> Normalize(ImageNet mean, std);
* timm (timm/data/transforms_factory.py transforms_imagenet_eval): Resize(floor(224 / crop_pct))
  with the model's interpolation -> CenterCrop(224) -> ToTensor -> Normalize(mean, std); here
  crop_pct 0.875 (resize 256), BICUBIC and mean = std = 0.5 (an EfficientNet-style config) and
  BILINEAR with 0.5 (the tf_mobilenetv3 configs).

FIXTURES/preprocess/<image>.npy: the pixels, float32 [H, W, 3] holding 0-255;
<image>_<preset>.npy: float32 [1, 3, 224, 224]. cases.txt: ``image preset``.
"""
import argparse
import os

import numpy as np
import torch
from PIL import Image
from torchvision import transforms as T
from torchvision.transforms import InterpolationMode

IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
HALF = ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
# preset: (resize, interpolation, (mean, std)); the C++ test spells out the same table.
PRESETS = {
    "torchvision": (256, InterpolationMode.BILINEAR, IMAGENET),
    "timm_bicubic": (256, InterpolationMode.BICUBIC, HALF),
    "timm_bilinear": (256, InterpolationMode.BILINEAR, HALF),
}


def images():
    from skimage import data

    out = {name: getattr(data, name)() for name in ("astronaut", "coffee", "chelsea", "rocket")}
    out["astronaut_383x511"] = out["astronaut"][50:433, 1:512]
    out["chelsea_149x201"] = out["chelsea"][60:209, 120:321]
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="FIXTURES/preprocess directory")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    cases = []
    for name, pixels in images().items():
        assert pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] == 3, name
        np.save(os.path.join(args.out, name + ".npy"), pixels.astype(np.float32))
        for preset, (resize, interpolation, (mean, std)) in PRESETS.items():
            transform = T.Compose([T.Resize(resize, interpolation=interpolation),
                                   T.CenterCrop(224), T.ToTensor(), T.Normalize(mean, std)])
            with torch.no_grad():
                x = transform(Image.fromarray(pixels)).unsqueeze(0).numpy().astype(np.float32)
            np.save(os.path.join(args.out, "%s_%s.npy" % (name, preset)), x)
            cases.append("%s %s" % (name, preset))
    with open(os.path.join(args.out, "cases.txt"), "w") as f:
        f.write("\n".join(cases) + "\n")
    print("wrote %d preprocessing cases to %s" % (len(cases), args.out))


if __name__ == "__main__":
    main()
