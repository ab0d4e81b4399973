from dwpose import skeleton


def test_layout_sizes():
    assert len(skeleton.KEYPOINT_NAMES) == 133
    assert skeleton.SIGMAS.shape == (133,)
    assert [b - a for a, b in skeleton.PARTS.values()] == [17, 6, 68, 21, 21]
    assert skeleton.part_sigmas("left_hand").tolist() == skeleton.part_sigmas("right_hand").tolist()
    assert skeleton.SIGMAS[0] == 0.026 and skeleton.SIGMAS[17] == 0.068


def test_flip_indices_are_an_involution_swapping_sides():
    flip = skeleton.FLIP_INDICES
    assert all(flip[flip[i]] == i for i in range(133))
    assert sorted(i for i in range(133) if flip[i] == i) == [0, 31, 50, 51, 52, 53, 56, 74, 80, 85, 89]
    for i, j in enumerate(flip):
        name_i, name_j = skeleton.KEYPOINT_NAMES[i], skeleton.KEYPOINT_NAMES[j]
        if name_i.startswith(("left", "right")) and i != j:
            assert name_i.replace("left", "#").replace("right", "left").replace("#", "right") == name_j


def test_links_stay_in_range():
    assert len(skeleton.SKELETON_LINKS) == 65
    assert all(0 <= a < 133 and 0 <= b < 133 and a != b for a, b in skeleton.SKELETON_LINKS)
