"""The objects of a video (objects.py): label ids <-> channels, without a network."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xmem_demo.errors import MaskError
from xmem_demo.live import FrameError
from xmem_demo.objects import VideoObjects, index_mask

HW = (6, 8)


def _mask(*boxes: tuple[int, slice, slice]) -> np.ndarray:
    m = np.zeros(HW, np.uint8)
    for label, rows, cols in boxes:
        m[rows, cols] = label
    return m


def test_labels_keep_the_order_they_were_first_given_and_corrections_reuse_their_channel():
    objects = VideoObjects()
    onehot, given = objects.annotate(_mask((200, slice(0, 2), slice(0, 2)), (7, slice(3, 5), slice(3, 5))), None, HW, HW, "cpu")
    assert objects.ids == [7, 200] and given == [7, 200] and onehot.shape == (2, *HW)
    onehot, given = objects.annotate(_mask((3, slice(0, 1), slice(0, 8)), (200, slice(4, 6), slice(0, 2))), None, HW, HW, "cpu")
    assert objects.ids == [7, 200, 3] and given == [3, 200]
    assert onehot[0].sum() == 0 and onehot[1].sum() == 4 and onehot[2].sum() == 8  # 7 not given here: an empty plane


def test_merge_keeps_the_prediction_of_objects_not_given_outside_the_drawn_region():
    objects = VideoObjects()
    objects.annotate(_mask((1, slice(0, 3), slice(0, 8)), (2, slice(3, 6), slice(0, 8))), None, HW, HW, "cpu")
    predicted = torch.zeros(3, *HW)
    predicted[1, :3], predicted[2, 3:] = 1, 1  # object 1 on top, object 2 below
    onehot, given = objects.annotate(_mask((2, slice(0, 1), slice(0, 8))), None, HW, HW, "cpu")  # 2 moves to row 0
    labels = objects.to_index_mask(objects.merge(onehot, given, predicted))
    assert (labels[0] == 2).all()  # the annotation wins where it is drawn
    assert (labels[1:3] == 1).all()  # object 1 keeps its prediction elsewhere
    assert (labels[3:] == 0).all()  # object 2 was given: its old place is no longer its


def test_to_index_mask_widens_to_uint16_for_labels_above_255_and_refuses_a_wrong_shape():
    objects = VideoObjects()
    objects.annotate(np.full(HW, 300, np.int64), None, HW, HW, "cpu")
    assert objects.to_index_mask(torch.tensor([0.0, 1.0])[:, None, None].expand(2, *HW)).dtype == np.uint16
    with pytest.raises(ValueError, match=r"\(K \+ 1\) x H x W"):
        objects.to_index_mask(torch.rand(*HW))


@pytest.mark.parametrize("bad,match", [(np.zeros((1, *HW), np.uint8), "H x W index mask"),
                                       (np.zeros(HW, np.float32), "holds floats"),
                                       (np.full(HW, "a"), "holds <U1 values")])
def test_index_mask_names_what_is_wrong_with_the_callers_error(bad, match):
    with pytest.raises(MaskError, match=f"the mask for frame 3 .*{match}"):
        index_mask(bad, "the mask for frame 3")
    with pytest.raises(FrameError, match=f"the target mask .*{match}"):
        index_mask(bad, "the target mask", FrameError)
    assert index_mask(np.ones(HW, bool), "x").dtype == np.uint8  # a boolean mask is label 1
